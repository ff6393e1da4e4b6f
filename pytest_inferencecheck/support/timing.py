"""Latency samples summarised (median, spread), the noise rule, the host's load: pure, no torch.
Taking the samples is `measure.latency`'s."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass


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
