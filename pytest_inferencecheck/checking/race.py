"""Row 7: compile the model with inductor and each listed backend, check and time each one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from pytest_inferencecheck.checking.facts import Facts
from pytest_inferencecheck.checking.job import Job
from pytest_inferencecheck.checking.stages import describe
from pytest_inferencecheck.host import hold
from pytest_inferencecheck.measure.latency import samples_ms
from pytest_inferencecheck.measure.numerics import compare
from pytest_inferencecheck.result import RaceEntry
from pytest_inferencecheck.support.timing import CpuWatch, beats, quiet_load


@dataclass
class RaceOutcome:
    """Every entrant, the winner beyond the noise (None: inductor), and what each compiled."""

    entries: list[RaceEntry]
    winner: str | None
    compiled: dict[str, Callable[..., Any]] = field(default_factory=dict)


def race(job: Job, facts: Facts) -> RaceOutcome:
    """Always measured afresh: the race is about this machine now, so nothing is reused."""
    outcome = RaceOutcome([], None)
    timings = {}
    load = 0.0  # the most other processes' CPU per core while a backend was timed
    for backend in dict.fromkeys(("inductor", *job.opts.backends)):
        start = time.perf_counter()
        try:
            with torch.no_grad():
                compiled = torch.compile(job.model, backend=backend)
                out = compiled(*job.args, **job.kwargs)
            numerics = compare(out, facts.reference, atol=job.opts.atol, rtol=job.opts.rtol)
            with hold.held(), CpuWatch() as watch:  # none of our own builds run meanwhile
                timing = samples_ms(lambda: compiled(*job.args, **job.kwargs))
            if watch.load is not None:
                load = max(load, watch.load)
        except Exception as exc:  # noqa: BLE001 - a backend that cannot compile loses
            outcome.entries.append(RaceEntry(backend, False, error=describe(exc)))
            job.stages.fail(f"race:{backend}", time.perf_counter() - start, describe(exc))
            continue
        outcome.compiled[backend] = compiled
        entry = RaceEntry(backend, numerics.ok, numerics.max_abs_err,
                          None if numerics.ok else "outputs differ from eager", timing.samples)
        outcome.entries.append(entry)
        if numerics.ok:  # decide from the samples as reported, so the report re-derives it
            timings[backend] = entry.timing
        (job.stages.record if numerics.ok else job.stages.fail)(
            f"race:{backend}", time.perf_counter() - start,
            f"median {entry.median_ms:.3f} ms ± {entry.spread_ms:.3f}")
    base = timings.get("inductor")
    if base is not None and load > quiet_load():  # only quiet figures move a model to row 7
        job.notes.append(f"the backend race was timed while other processes kept {load:.0%} of "
                         "the CPU busy: too noisy to move the model off inductor (row 4); "
                         "rerun on a quiet machine to decide row 7")
    elif base is not None:
        faster = [b for b, t in timings.items() if b != "inductor" and beats(t, base)]
        outcome.winner = min(faster, key=lambda b: timings[b].median) if faster else None
    return outcome
