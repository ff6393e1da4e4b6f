"""One technology's path: build or reuse its artifact, run it, compare with eager, time it.

A run of a stored artifact on given inputs is recorded too (its outputs and latency). A later
check whose artifact, inputs, run options, device and process state are the same reads those
outputs instead of running the artifact again, and compares them with its own fresh eager
reference: the artifact is a pure function of what its key covers, as a test result is in
Bazel's cache. Not recorded: the run of a program that calls operators torch does not ship
(their code can read any state), of a program that draws random numbers (its outputs depend on
the generator's state, and a replay would not move that state on as the run does), and of
inputs that cannot be keyed. Every process-wide numeric mode that changes an artifact's outputs
is in the run's key (`keys.runtime_state`), or the run is not recorded.

A reused artifact that fails to load or run is not taken for the model's failure (a fallback
to row 5): it is discarded and rebuilt, and the rebuilt one decides, as in a cold run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pytest_inferencecheck.checking.facts import Facts
from pytest_inferencecheck.checking.job import Job
from pytest_inferencecheck.checking.runners import RUNNERS, Runner, Stored
from pytest_inferencecheck.checking.runners.base import Built, reuse_detail
from pytest_inferencecheck.checking.runners.executorch import executorch_facts
from pytest_inferencecheck.checking.shapes import second_shape
from pytest_inferencecheck.checking.stages import describe
from pytest_inferencecheck.errors import StageError, Uncacheable
from pytest_inferencecheck.host import hold
from pytest_inferencecheck.host.devices import identity, where_measured
from pytest_inferencecheck.host.faults import fault_of
from pytest_inferencecheck.measure.hints import NUMERICS_HINT, random_numerics_hint
from pytest_inferencecheck.measure.latency import paired_ms, samples_ms
from pytest_inferencecheck.measure.numerics import SCALARS, compare_leaves, leaves, random_ops
from pytest_inferencecheck.result import FETCHED, REUSED, Failure, Latency, Numerics, Use
from pytest_inferencecheck.store.artifacts import LAYOUT, Entry
from pytest_inferencecheck.store.keys import digest, runtime_state, value_fingerprint, versions
from pytest_inferencecheck.support.records import to_data
from pytest_inferencecheck.support.timing import CpuWatch, Timing, quiet_load
from pytest_inferencecheck.support.wording import plural

OUTPUTS = "outputs.pt"
RECORD_MAX_BYTES = 64 * 2**20  # larger outputs are not recorded: such runs happen every time


@dataclass
class PathOutcome:
    """What running one path found."""

    technology: str
    numerics: Numerics | None = None
    latency: Latency | None = None
    executorch: dict[str, Any] | None = None
    skip_reason: str | None = None
    failures: list[Failure] = field(default_factory=list)


def run_path(job: Job, facts: Facts, technology: str,
             runner: Runner | None = None) -> PathOutcome:
    """Build (or reuse) the artifact of `technology`, run it, compare, time; record the run."""
    runner = runner or RUNNERS[technology]()
    stored = runner.stored(job, facts)
    other = second_shape(job.model, job.args, job.kwargs, job.opts.dynamic_shapes)
    run_key = _run_key(job, facts, runner, stored, other)
    if run_key is not None and stored is not None:
        recorded = _recorded(job, facts, runner, stored, run_key, other)
        if recorded is not None:
            return recorded
    stage_mark, use_mark = job.stages.mark(), len(job.uses)
    try:
        return _build_and_run(job, facts, technology, runner, run_key, other)
    except StageError as err:
        reused = [u for u in job.uses[use_mark:] if u.status in (REUSED, FETCHED)]
        if not reused or fault_of(err.exc):
            raise  # a fresh artifact's failure is the model's (or the host's): it stands
        for use in reused:  # as a cold run would: build everything this path reused again
            job.store.discard(use.kind, use.key)
        job.stages.rewind(stage_mark)
        # what the first try built, the second finds in the store: this check built it
        job.built_before_retry = {(u.kind, u.key): u for u in job.uses[use_mark:]
                                  if u.status not in (REUSED, FETCHED)}
        del job.uses[use_mark:]
        job.notes.append(
            f"the stored {', '.join(f'{u.kind} {u.short_key}' for u in reused)} failed at "
            f"{err.stage} ({describe(err.exc)}): discarded and built again")
        try:
            return _build_and_run(job, facts, technology, runner, run_key, other)
        finally:
            job.built_before_retry = {}


def _build_and_run(job: Job, facts: Facts, technology: str, runner: Runner,
                   run_key: str | None, other: tuple[tuple, dict, str] | None) -> PathOutcome:
    built = runner.build(job, facts)
    outcome = PathOutcome(technology, executorch=built.executorch, skip_reason=built.skip_reason)
    if built.artifact is None:  # built but cannot run here (e.g. a backend this runtime lacks)
        return outcome
    artifact = built.artifact
    with job.stages.stage("run"), torch.no_grad():
        got = _storable(leaves(artifact(*job.args, **job.kwargs)))
    numerics = _compare(job, "compare", got, leaves(facts.reference))
    got_second = None
    if other is not None:
        args, kwargs, desc = other
        with job.stages.stage("run_second_shape") as st, torch.no_grad():
            expected = leaves(job.model(*args, **kwargs))
            got_second = _storable(leaves(artifact(*args, **kwargs)))
            st.detail = desc
        _second(job, numerics, got_second, expected, desc)
    elif job.opts.dynamic_shapes is not None:
        numerics.notes.append("dynamic_shapes names no dimension that could be resized: only "
                              "the example shape was checked")
    outcome.numerics, outcome.latency = numerics, _latency(job, technology, artifact, built)
    if run_key is not None and built.entry is not None:
        _record(job, run_key, got, got_second, outcome.latency, built.entry)
    _numerics_failure(outcome, facts)
    return outcome


def _latency(job: Job, technology: str, artifact: Any, built: Built) -> Latency:
    """Eager's and the artifact's latency, taken in turns while our own background builds are
    held (`host.hold`), with each one's noise and the load other processes put on the CPU."""
    quiet_load()  # a bad INFERENCECHECK_QUIET_LOAD is a usage error, said before measuring
    with job.stages.stage("latency") as st:
        with hold.held() as held, CpuWatch() as watch:
            if artifact is job.model:  # eager is the artifact
                eager = art = samples_ms(job.call, warmup=1, runs=20, budget_s=1.0)
                artifact_ms: float | None = eager.median
            elif built.latency_ms is not None:  # measured in the artifact's own process: eager
                before = samples_ms(job.call, warmup=1, runs=10, budget_s=0.5)  # on either side
                artifact_ms, art = built.latency_ms(), None
                eager = Timing(before.samples + samples_ms(job.call, warmup=0, runs=10,
                                                           budget_s=0.5).samples)
            else:
                eager, art = paired_ms(job.call, lambda: artifact(*job.args, **job.kwargs))
                artifact_ms = art.median
        loads = [x for x in (watch.load, getattr(artifact, "latency_load", None)) if x is not None]
        latency = Latency(eager.median, artifact_ms, max(loads, default=None),
                          round(eager.spread, 4),
                          round(art.spread, 4) if art is not None else None,
                          time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          where_measured(job.device))
        st.detail = (f"eager {latency.eager_ms:.3f} ms ± {eager.spread:.3f}, {technology} "
                     + (f"{artifact_ms:.3f} ms" if artifact_ms is not None else "not measured")
                     + (f" ± {art.spread:.3f}" if art is not None and art is not eager else "")
                     + (f"; {plural(held, 'background build')} of ours held meanwhile" if held else "")
                     + (f"; {latency.noise}" if not latency.quiet else ""))
    return latency


def _run_key(job: Job, facts: Facts, runner: Runner, stored: Stored | None,
             other: tuple[tuple, dict, str] | None) -> str | None:
    """The key of this artifact's run on these inputs here; None when the run is not recorded."""
    if stored is None or stored.key is None or job.inputs_key is None:
        return None
    if facts.foreign_ops:
        job.notes.append(f"the program calls {', '.join(facts.foreign_ops[:3])}, not torch's own "
                         "operators: its artifact runs on every check (a run is not recorded)")
        return None
    drawn = random_ops(facts.program) if facts.program is not None else []
    if drawn:  # its outputs are a function of the generator's state as well, and a replay
        # would not move that state on as the run does (the second shape's eager run, the
        # latency loop and every later check draw after it): it runs, as in a cold run
        job.notes.append(f"forward draws random numbers ({', '.join(drawn[:3])}): its artifact "
                         "runs on every check (a run is not recorded)")
        return None
    try:
        second = value_fingerprint(other[:2], "second-shape inputs") if other else None
        return digest("run", LAYOUT, runner.technology, stored.key, runner.run_parts(job),
                      job.inputs_key, second, versions(), runtime_state(), identity(job.device))
    except Uncacheable:
        return None


def _storable(flat: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Leaves as they can be stored and compared: tensors and plain values; others by type."""
    return [(p, v if isinstance(v, (torch.Tensor, *SCALARS)) else f"<{type(v).__name__}>")
            for p, v in flat]


def _compare(job: Job, stage: str, got: list[tuple[str, Any]],
             want: list[tuple[str, Any]]) -> Numerics:
    start = time.perf_counter()
    numerics = compare_leaves(got, want, atol=job.opts.atol, rtol=job.opts.rtol)
    detail = f"{plural(numerics.compared, 'leaf', 'leaves')}, max abs err {numerics.max_abs_err:.3g}"
    (job.stages.record if numerics.ok else job.stages.fail)(
        stage, time.perf_counter() - start, detail)
    return numerics


def _second(job: Job, numerics: Numerics, got: list[tuple[str, Any]],
            expected: list[tuple[str, Any]], desc: str) -> None:
    numerics.shapes = desc
    numerics.second_shape = _compare(job, "compare_second_shape", got, expected)
    numerics.ok = numerics.ok and numerics.second_shape.ok


def _numerics_failure(outcome: PathOutcome, facts: Facts) -> None:
    n = outcome.numerics
    if n is None or n.ok:
        return
    bad = n.mismatches or (n.second_shape.mismatches if n.second_shape else [])
    drawn = random_ops(facts.program) if facts.program is not None else []
    outcome.failures.append(Failure(
        "compare", f"{outcome.technology} outputs differ from eager: "
                   + "; ".join(f"{m.path}: {m.message}" for m in bad[:5]),
        random_numerics_hint(drawn) if drawn and outcome.technology != "eager" else NUMERICS_HINT))


def _record(job: Job, run_key: str, got: list, got_second: list | None,
            latency: Latency, artifact: Entry) -> None:
    if not latency.quiet:  # a rerun measures again, rather than replay a noisy figure
        job.notes.append(f"the latency was measured while other processes kept {latency.load:.0%} "
                         "of the CPU busy: this run is not recorded, a rerun measures again")
        return
    size = sum(v.numel() * v.element_size() for _, v in [*got, *(got_second or [])]
               if isinstance(v, torch.Tensor))
    if size > RECORD_MAX_BYTES:
        job.notes.append(f"the artifact's outputs ({size} bytes) are too large to record: "
                         "it runs again on every check")
        return

    def build(folder: Path) -> dict[str, Any]:
        torch.save({"example": [(p, _cpu(v)) for p, v in got],
                    "second": [(p, _cpu(v)) for p, v in got_second] if got_second else None},
                   folder / OUTPUTS)
        return {"latency": to_data(latency), "artifact": _digests(artifact)}

    def accept(entry: Entry) -> str | None:
        return None if entry.meta.get("artifact") == _digests(artifact) else \
            "it recorded a run of other bytes than the stored artifact"

    _, use = job.store.obtain("run", run_key, build, label=f"{job.name} run", accept=accept,
                              size_hint=size)
    job.used(use)


def _digests(entry: Entry) -> dict[str, str]:
    """The files of an artifact by content: a recorded run is of exactly these bytes."""
    return {name: str(info.get("sha256")) for name, info in sorted(entry.files.items())}


def _cpu(value: Any) -> Any:
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def _recorded(job: Job, facts: Facts, runner: Runner, stored: Stored, run_key: str,
              other: tuple[tuple, dict, str] | None) -> PathOutcome | None:
    """The outcome from a recorded run of the same artifact on the same inputs, if any."""
    technology = runner.technology
    record = job.store.lookup("run", run_key)
    # verified though not loaded: a damaged artifact in the store is rebuilt, never vouched for
    artifact = job.store.lookup(stored.kind, stored.key) if record is not None else None
    if record is None or artifact is None or record.meta.get("artifact") != _digests(artifact):
        return None  # no record, no artifact, or a record of other bytes than those stored
    try:
        data = torch.load(record.file(OUTPUTS), weights_only=True)
        latency = Latency(**{**record.meta["latency"], "replayed": True})
    except Exception:  # noqa: BLE001 - an unreadable record is run again, not trusted
        return None
    if (data.get("second") is None) != (other is None):
        return None
    use = job.used(Use(stored.kind, stored.key, job.store.reuse_status(stored.kind, stored.key),
                       artifact.bytes))
    for stage in stored.build_stages:
        job.stages.record(stage, 0.0, reuse_detail(use))
    job.used(Use("run", run_key, job.store.reuse_status("run", run_key), record.bytes))
    job.stages.record("run", 0.0, f"reused {run_key[:12]}: the outputs this artifact produced "
                                  "on these inputs")
    outcome = PathOutcome(technology)
    if artifact.meta.get("executorch") is not None:
        outcome.executorch = {**executorch_facts(artifact, facts), "executed": True}
    numerics = _compare(job, "compare", [tuple(x) for x in data["example"]],
                        leaves(facts.reference))
    if other is not None:
        args, kwargs, desc = other
        with torch.no_grad():
            expected = leaves(job.model(*args, **kwargs))
        _second(job, numerics, [tuple(x) for x in data["second"]], expected, desc)
    job.stages.record("latency", 0.0, f"reused: eager {latency.eager_ms:.3f} ms, {technology} "
                                      f"{latency.artifact_ms:.3f} ms, {latency.noise}")
    outcome.numerics, outcome.latency = numerics, latency
    _numerics_failure(outcome, facts)
    return outcome
