"""Steady-state latency: warm up, then the median of repeated runs within a time budget."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def median_ms(fn: Callable[[], Any], *, warmup: int = 1, max_runs: int = 20,
              budget_s: float = 1.0) -> float:
    """Median wall time of `fn()` in milliseconds, after `warmup` calls."""
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        times: list[float] = []
        deadline = time.perf_counter() + budget_s
        while len(times) < max_runs and (len(times) < 3 or time.perf_counter() < deadline):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3
