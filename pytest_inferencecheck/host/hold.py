"""Our background processes, held while a latency is measured.

A check builds ahead in helper processes (`checking.prebuild`) and builds the C++ runner in the
background (`host.cpp_build`). Their compilers fill the cores. A latency measured meanwhile is
our own load's figure, not the model's. So every background process of ours is registered
here, in its own process group. `held()` stops them all (SIGSTOP to each group, which reaches
the compiler under a helper too) for as long as a measurement runs, and lets them go on after
(SIGCONT). A process started while a hold is on is stopped as soon as it is registered.

Nothing stays stopped if this process dies while holding: a helper leads its own process group,
and when its parent exits that group is orphaned; the kernel then sends every stopped member
SIGHUP and SIGCONT (POSIX), which ends it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_LOCK = threading.Lock()
_PROCESSES: set[subprocess.Popen] = set()
_HOLDS = 0


def register(proc: subprocess.Popen) -> None:
    """A background process of ours (leading its own process group) that a hold stops."""
    with _LOCK:
        _PROCESSES.add(proc)
        if _HOLDS:
            _signal(proc, signal.SIGSTOP)


def unregister(proc: subprocess.Popen) -> None:
    """It has ended (or is being ended)."""
    with _LOCK:
        _PROCESSES.discard(proc)


@contextlib.contextmanager
def held() -> Iterator[int]:
    """Stop every registered process that still runs; let them go on after. Yields how many
    were stopped. Holds nest: the processes go on when the outermost one ends."""
    global _HOLDS
    with _LOCK:
        _HOLDS += 1
        stopped = [p for p in _PROCESSES if p.poll() is None]
        if _HOLDS == 1:
            for proc in stopped:
                _signal(proc, signal.SIGSTOP)
            _settle(stopped)
    try:
        yield len(stopped)
    finally:
        with _LOCK:
            _HOLDS -= 1
            if not _HOLDS:
                for proc in _PROCESSES:
                    _signal(proc, signal.SIGCONT)


def holding() -> bool:
    """Whether a hold is on now."""
    return _HOLDS > 0


def _settle(procs: list[subprocess.Popen], timeout_s: float = 0.5) -> None:
    """Wait until each process has stopped (a signal is delivered when the kernel next
    schedules it): a measurement must not start beside one still running. Linux shows it in
    `/proc`; elsewhere a short pause stands in."""
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        status = Path(f"/proc/{proc.pid}/stat")
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if status.read_text().rsplit(")", 1)[1].split()[0] in "TtZX":
                    break
            except (OSError, IndexError):  # no /proc: a moment for the signal to land
                time.sleep(0.01)
                break
            time.sleep(0.001)


def _signal(proc: subprocess.Popen, signum: int) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(OSError):  # gone meanwhile
        os.killpg(proc.pid, signum)
