"""What every runner gets and gives: a job and the model's facts in, what it built out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch

from pytest_inferencecheck.checking import helpers
from pytest_inferencecheck.errors import Uncacheable
from pytest_inferencecheck.result import BUILT, REUSED, Use
from pytest_inferencecheck.store.artifacts import LAYOUT, Entry
from pytest_inferencecheck.store.keys import digest
from pytest_inferencecheck.support import compat

pytree = compat.pytree()

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.facts import Facts
    from pytest_inferencecheck.checking.job import Job


@dataclass(frozen=True)
class Stored:
    """Where a path's artifact lives in the store, and the stages that build it. `key` is None
    when the artifact cannot be keyed faithfully (`unkept` says why): it is then built for
    this check alone, in its scratch directory, and neither kept nor reused."""

    kind: str
    key: str | None
    build_stages: tuple[str, ...]
    unkept: str | None = None

    @classmethod
    def keyed(cls, kind: str, build_stages: tuple[str, ...], facts: Facts,
              parts: Callable[[], tuple[Any, ...]]) -> Stored:
        """The entry of `facts`' program with `parts()` (what else decides the artifact)."""
        if facts.program_key is None:
            return cls(kind, None, build_stages, facts.unkeyable or "no exported program")
        try:
            return cls(kind, artifact_key(kind, facts.program_key, parts()), build_stages)
        except Uncacheable as exc:
            return cls(kind, None, build_stages, str(exc))


def artifact_key(kind: str, program_key: str, parts: tuple[Any, ...]) -> str:
    """The key of an artifact of `kind` built from a program, given what else decides it."""
    return digest(kind, LAYOUT, program_key, *parts)


@dataclass
class Built:
    """What a runner built: something called like the model, and the facts of building it.

    `artifact` is None when the artifact was built but cannot run here (a backend this
    runtime lacks); `skip_reason` says why. `latency_ms`, when set, measures the artifact in
    its own process (the C++ runner) instead of timing calls from here.
    """

    artifact: Callable[..., Any] | None
    latency_ms: Callable[[], float | None] | None = None
    executorch: dict[str, Any] | None = None
    skip_reason: str | None = None
    entry: Entry | None = None  # the store entry it was loaded from (a recorded run names it)


class Runner(Protocol):
    """Builds and loads the artifact for one technology, inside timed stages."""

    technology: str

    def stored(self, job: Job, facts: Facts) -> Stored | None:
        """The store entry of this path's artifact (None: nothing is stored, e.g. eager)."""
        ...

    def run_parts(self, job: Job) -> tuple[Any, ...]:
        """What a run depends on besides the artifact and inputs (a runner binary, a timeout)."""
        ...

    def build(self, job: Job, facts: Facts) -> Built:
        """Build (or reuse) and load the artifact."""
        ...


def reuse_detail(use: Use) -> str:
    """A stage detail that says what the store did."""
    text = f"{use.status} {use.short_key}"
    return f"{text} ({use.note})" if use.note else text


@dataclass(frozen=True)
class Obtained:
    """An artifact's entry, what the store did (None: built and not kept), and whether this
    check ran the build itself (a reused or built-ahead entry had its stages run elsewhere)."""

    entry: Entry
    use: Use | None
    built_here: bool


def obtain(job: Job, stored: Stored, build: Callable[[Path], dict[str, Any] | None],
           size_hint: int = 0) -> Obtained:
    """The artifact's entry: from the store (waiting for a helper building it ahead), built
    into it once, or, when it cannot be keyed, built into this check's scratch directory and
    not kept (nothing in the store is touched)."""

    ran: list[bool] = []

    def building(folder: Path) -> dict[str, Any] | None:
        ran.append(True)
        return build(folder)

    if stored.key is None:
        folder = job.workdir / f"unkept-{stored.kind}"
        folder.mkdir(exist_ok=True)
        return Obtained(Entry(stored.kind, "", folder, {}, building(folder) or {}), None, True)
    ahead = helpers.wait(stored.kind, stored.key)
    entry, use = job.store.obtain(stored.kind, stored.key, building,
                                  label=f"{job.name} ({stored.kind})", size_hint=size_hint)
    use = helpers.account(use, ahead)
    if ahead is not None and use.status == BUILT:  # built by our helper: published from here
        use = job.store.share(entry, use)
    if use.status == REUSED:
        use = job.built_before_retry.pop((stored.kind, stored.key), use)
    return Obtained(entry, job.used(use), bool(ran))


def obtain_in_stage(job: Job, stage: str, stored: Stored,
                    build: Callable[[Path], dict[str, Any] | None], size_hint: int = 0) -> Entry:
    """Obtain an artifact inside a timed stage whose detail says built, reused or not kept."""
    with job.stages.stage(stage) as st:
        got = obtain(job, stored, build, size_hint)
        st.detail = reuse_detail(got.use) if got.use else f"built, not kept: {stored.unkept}"
    return got.entry


class ProgramCall:
    """An exported program's calling convention: model-style arguments in, the model's outputs
    out, with flat tensor lists in between (what the C++ runner and ExecuTorch take and give)."""

    def __init__(self, program: torch.export.ExportedProgram) -> None:
        self.in_spec, self.out_spec = program.call_spec.in_spec, program.call_spec.out_spec

    @classmethod
    def from_meta(cls, meta: Any) -> ProgramCall | None:
        """Rebuild from `to_meta()`; None when nothing (or nothing readable) was stored."""
        if not isinstance(meta, dict) or "in" not in meta or "out" not in meta:
            return None
        try:
            call = cls.__new__(cls)
            call.in_spec = pytree.treespec_loads(meta["in"])
            call.out_spec = pytree.treespec_loads(meta["out"])
            return call
        except Exception:  # noqa: BLE001 - a type no longer registered: use the program's own
            return None

    def to_meta(self) -> dict[str, str] | None:
        """The specs as JSON text, stored with an artifact so it runs without the program."""
        try:
            return {"in": pytree.treespec_dumps(self.in_spec),
                    "out": pytree.treespec_dumps(self.out_spec)}
        except Exception:  # noqa: BLE001 - an output type without serialization support
            return None

    def flat_inputs(self, args: tuple, kwargs: dict) -> list[torch.Tensor]:
        """The tensors among the arguments, in the program's order."""
        flat = pytree.tree_flatten((args, compat.reorder_kwargs(kwargs, self.in_spec)))[0]
        return [x for x in flat if isinstance(x, torch.Tensor)]

    def outputs(self, flat: list[Any]) -> Any:
        """The flat outputs in the structure the model returns."""
        return pytree.tree_unflatten(list(flat), self.out_spec)
