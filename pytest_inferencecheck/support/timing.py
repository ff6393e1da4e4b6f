"""Latency samples summarised (median, spread), the noise rule, the host's load: pure, no torch.
Taking the samples is `measure.latency`'s."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_inferencecheck.errors import InferenceCheckError

QUIET_LOAD = 0.5  # other processes' CPU per core above which a measured latency is noisy
QUIET_LOAD_ENV = "INFERENCECHECK_QUIET_LOAD"  # a machine shared by parallel jobs may raise it


def quiet_load() -> float:
    """The most CPU per core other processes may use while a latency is measured for the figure
    to count as quiet: `QUIET_LOAD` (more than half the machine's cores busy with other work
    is a loaded host), or `INFERENCECHECK_QUIET_LOAD` (0 to 1; 1: never call a figure noisy,
    for a CI runner that runs jobs side by side on purpose)."""
    text = os.environ.get(QUIET_LOAD_ENV, "").strip()
    if not text:
        return QUIET_LOAD
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise InferenceCheckError(f"{QUIET_LOAD_ENV}={text!r}: give a number from 0 to 1 (the "
                                  "share of the CPU other processes may use while a latency is "
                                  f"measured; default {QUIET_LOAD})")
    return value


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


class CpuWatch:
    """How busy other processes kept the CPU while a measurement ran, per core: the CPU time
    the whole machine spent (`/proc/stat`) less this process's and its waited children's, over
    the wall time and the cores. Unlike the load average (a minute's memory, our own past
    compiles in it), it is about this window only. `load` is None where the OS does not say.

        with CpuWatch() as watch:
            measure()
        watch.load
    """

    def __init__(self) -> None:
        self.load: float | None = None
        self._start: tuple[float, float, float] | None = None

    def __enter__(self) -> CpuWatch:
        busy = _machine_busy_s()
        self._start = None if busy is None else (time.monotonic(), busy, _own_cpu_s())
        return self

    def __exit__(self, *exc: object) -> None:
        busy = _machine_busy_s()
        if self._start is None or busy is None:
            return
        wall0, busy0, own0 = self._start
        wall = max(time.monotonic() - wall0, 1e-6)
        others = max(0.0, (busy - busy0) - (_own_cpu_s() - own0))
        self.load = round(min(1.0, others / (wall * (os.cpu_count() or 1))), 2)  # 10 ms ticks


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _machine_busy_s() -> float | None:
    """CPU seconds all cores have spent busy since boot (Linux); None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        ticks = [int(v) for v in fields[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
