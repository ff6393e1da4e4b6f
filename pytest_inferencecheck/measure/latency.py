"""Steady-state latency, measured: warm up, then repeated runs within a time budget."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

import torch

from pytest_inferencecheck.support.timing import Timing

MIN_WINDOW_S = 0.25  # a fast model is sampled at least this long: the CPU watch's ticks are 10 ms
MAX_RUNS = 200_000  # a microsecond model over the window


def _more(n: int, runs: int, started: float, budget_s: float) -> bool:
    """Whether to take another sample: at least 5; then up to `runs`, or on for the shortest
    window the load can be read over; never past the budget (a slow model) or `MAX_RUNS`."""
    elapsed = time.perf_counter() - started
    return n < 5 or (elapsed < budget_s and n < MAX_RUNS
                     and (n < runs or elapsed < MIN_WINDOW_S))


def samples_ms(fn: Callable[[], Any], *, warmup: int = 2, runs: int = 30,
               budget_s: float = 2.0) -> Timing:
    """Latency samples of `fn()` after warm-up, at least 5 and at most `runs` within a budget.
    What the model prints meanwhile is dropped: the checked runs already showed it once, and a
    timing loop would repeat it dozens of times into the captured output and the reports."""
    with torch.no_grad(), open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for _ in range(warmup):
            fn()
        times: list[float] = []
        started = time.perf_counter()
        while _more(len(times), runs, started, budget_s):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
    return Timing(tuple(times))


def paired_ms(eager: Callable[[], Any], artifact: Callable[[], Any], *, warmup: int = 1,
              runs: int = 20, budget_s: float = 2.0) -> tuple[Timing, Timing]:
    """Eager's and the artifact's latency samples, taken in turns (eager, artifact, eager, ...):
    a drift of the machine (another process, a frequency change) falls on both alike, so their
    ratio holds even when the absolute figures move. Each has its spread, the noise estimate."""
    with torch.no_grad(), open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for _ in range(warmup):
            eager()
            artifact()
        a: list[float] = []
        b: list[float] = []
        started = time.perf_counter()
        while _more(len(a), runs, started, budget_s):
            for fn, times in ((eager, a), (artifact, b)) if len(a) % 2 == 0 else \
                    ((artifact, b), (eager, a)):
                start = time.perf_counter()
                fn()
                times.append((time.perf_counter() - start) * 1e3)
    return Timing(tuple(a)), Timing(tuple(b))


def median_ms(fn: Callable[[], Any], *, warmup: int = 1, max_runs: int = 20,
              budget_s: float = 1.0) -> float:
    """Median wall time of `fn()` in milliseconds, after `warmup` calls."""
    return samples_ms(fn, warmup=warmup, runs=max_runs, budget_s=budget_s).median
