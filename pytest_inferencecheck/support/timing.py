"""Steady-state latency: warm up, then the median of repeated runs within a time budget."""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Repeated latency samples in milliseconds, summarised robustly."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median sample."""
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """The interquartile range (0 with fewer than 4 samples): the measurement noise."""
        if len(self.samples) < 4:
            return 0.0
        q = statistics.quantiles(self.samples, n=4)
        return q[2] - q[0]


def samples_ms(fn: Callable[[], Any], *, warmup: int = 2, runs: int = 30,
               budget_s: float = 2.0) -> Timing:
    """Latency samples of `fn()` after warm-up, at least 5 and at most `runs` within a budget.
    What the model prints meanwhile is dropped: the checked runs already showed it once, and a
    timing loop would repeat it dozens of times into the captured output and the reports."""
    import torch  # noqa: PLC0415 - defers torch; here, so that results and reporters can use Timing without importing torch

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


def beats(challenger: Timing, incumbent: Timing, *, margin: float = 0.03) -> bool:
    """True if `challenger` is faster than `incumbent` beyond the measurement noise.

    Faster means a lower median by more than both a relative margin and the mean of the two
    interquartile ranges, so that a lucky run does not move a model to another row.
    """
    gap = incumbent.median - challenger.median
    noise = max(margin * incumbent.median, (challenger.spread + incumbent.spread) / 2)
    return gap > noise


def host_load() -> float | None:
    """The 1-minute load average per core (None where the OS does not say): above 1, other work
    competed with the measurement."""
    try:
        return round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    except (OSError, AttributeError):
        return None


def median_ms(fn: Callable[[], Any], *, warmup: int = 1, max_runs: int = 20,
              budget_s: float = 1.0) -> float:
    """Median wall time of `fn()` in milliseconds, after `warmup` calls."""
    return samples_ms(fn, warmup=warmup, runs=max_runs, budget_s=budget_s).median
