"""Steady-state latency, measured: warm up, then repeated runs within a time budget."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

import torch

from pytest_inferencecheck.support.timing import Timing


def samples_ms(fn: Callable[[], Any], *, warmup: int = 2, runs: int = 30,
               budget_s: float = 2.0) -> Timing:
    """Latency samples of `fn()` after warm-up, at least 5 and at most `runs` within a budget.
    What the model prints meanwhile is dropped: the checked runs already showed it once, and a
    timing loop would repeat it dozens of times into the captured output and the reports."""
    with torch.no_grad(), open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for _ in range(warmup):
            fn()
        times: list[float] = []
        deadline = time.perf_counter() + budget_s
        while len(times) < runs and (len(times) < 5 or time.perf_counter() < deadline):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
    return Timing(tuple(times))


def median_ms(fn: Callable[[], Any], *, warmup: int = 1, max_runs: int = 20,
              budget_s: float = 1.0) -> float:
    """Median wall time of `fn()` in milliseconds, after `warmup` calls."""
    return samples_ms(fn, warmup=warmup, runs=max_runs, budget_s=budget_s).median
