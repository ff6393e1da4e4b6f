"""Work every check of a run will need, started in the background as soon as collection ends.

The C++ runner is a compiler process and inductor's CPU feature probe is a series of them:
both run on another core while the first checks measure eager, graph breaks and export.
A failure here is ignored: the check that needs the work does it again and reports it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .store import ArtifactStore
from .table import TARGETS


def start(store: ArtifactStore, targets: Iterable[str]) -> threading.Thread | None:
    """Start building what these targets need; None when they need nothing ahead of time."""
    wanted = {TARGETS[t] for t in targets if t in TARGETS}
    native = [t for t in wanted if t.platform == "server"]
    if not native:
        return None
    cpp = any(t.runtime == "no-python" for t in native)

    def work() -> None:
        try:
            if cpp:
                from .cpp_build import ensure_runner

                ensure_runner(store)
            _probe_cpu_isa()
        except Exception:  # noqa: BLE001 - the check that needs it reports the real error
            pass
        finally:
            store.release()

    thread = threading.Thread(target=work, name="inferencecheck-prewarm", daemon=True)
    thread.start()
    return thread


def _probe_cpu_isa() -> None:
    """Inductor compiles a probe per vector ISA on its first CPU compile; do it now."""
    from torch._inductor import cpu_vec_isa

    cpu_vec_isa.pick_vec_isa()
