"""Work the checks of a run will need, started in the background as early as it is known.

Inductor's CPU feature probe is a series of compiler processes, started when the run is
configured; the C++ runner is one compiler process, started when collection shows a
`server-*-cpp` target. Both run on another core while tests are collected and the first checks
measure eager, graph breaks and export.
A failure here is ignored: the check that needs the work does it again and reports it.

Nothing is imported on a background thread. Two threads importing torch's modules at once can
each be handed the other's half-initialised module: the user's test file then fails to collect,
and every later `import torch` fails with "... is already defined", hiding the first error. The
modules a background job uses are imported on the calling thread before it starts.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable

from pytest_inferencecheck.errors import BuildError
from pytest_inferencecheck.recommendations.table import TARGETS
from pytest_inferencecheck.store.artifacts import ArtifactStore
from pytest_inferencecheck.support import compat

_PROBE: list[threading.Thread] = []


def probe_cpu(store: ArtifactStore) -> threading.Thread | None:
    """Start inductor's CPU probe now, while tests are collected, if this store never compiled.

    A warm store needs nothing: a background import of inductor would only slow the checks
    that reuse everything.
    """
    if store.has_kind("aoti"):
        return None
    thread = _background(compat.probe_cpu_isa, compat.CPU_PROBE_MODULES)
    if thread is not None:
        _PROBE.append(thread)
    return thread


def settle_cpu_probe(timeout_s: float = 300.0) -> None:
    """Wait for a running CPU probe before compiling: inductor would otherwise repeat it,
    one probe at a time, while the parallel one finishes."""
    while _PROBE:
        _PROBE.pop().join(timeout_s)


def build_runner(store: ArtifactStore, targets: Iterable[str]) -> threading.Thread | None:
    """Start building the C++ runner if a selected target needs it and the store lacks it."""
    wanted = [TARGETS[t] for t in targets if t in TARGETS]
    if not any(t.cpp_server for t in wanted) or _have_runner(store):
        return None

    def work() -> None:
        from pytest_inferencecheck.host.cpp_build import (  # noqa: PLC0415 - defers torch
            ensure_runner,  # imported already, on the calling thread
        )

        try:
            ensure_runner(store, background=True)
        finally:
            store.release()

    return _background(work, (f"{__package__}.cpp_build",))


def _background(work: Callable[[], object], imports: tuple[str, ...]) -> threading.Thread | None:
    """Run `work` on a daemon thread, after importing on this thread every module it uses
    (`imports`); None, and nothing started, when one of them cannot be imported (a broken
    torch: the user's own import and the check that needs the work say so)."""
    try:
        for name in imports:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001
        return None

    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - the check that needs it reports the real error
            pass

    thread = threading.Thread(target=run, name="inferencecheck-prewarm", daemon=True)
    thread.start()
    return thread


def _have_runner(store: ArtifactStore) -> bool:
    from pytest_inferencecheck.host.cpp_build import build_key, find_compiler  # noqa: PLC0415 - defers torch

    try:
        return store.lookup("runner", build_key(find_compiler())) is not None
    except BuildError:
        return True  # nothing to build ahead: the check says the compiler is missing
    finally:
        store.release()
