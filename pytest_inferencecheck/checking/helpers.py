"""Helper processes building store entries ahead of the check that needs them: the record of
what runs, waiting for one, and ending all of them.

The low level of `prebuild`: runners wait here for an entry a helper is building, and never learn
which runner builds what (that is `prebuild`, which calls the runners). A helper never outlives
the run: `stop` ends every one still running (Ctrl-C, the end of the run), so nothing writes into
the store after the run exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_inferencecheck.host import hold
from pytest_inferencecheck.host.cpp_build import lower_priority
from pytest_inferencecheck.result import BUILT, REUSED, Use


class Forked:
    """A forked helper, as much of `subprocess.Popen` as the helpers' record uses.

    A fork of a process with threads can inherit a lock another thread held, and wait on it
    forever. Whoever waits for the helper would wait with it: `wait` ends a helper that has
    used no CPU for `STALL_S` seconds while not held, and the check then builds the entry
    itself (as after any failed helper)."""

    STALL_S = 60.0

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Its exit code once it has ended (reaped here), else None."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code, waiting at most `timeout` seconds (`TimeoutExpired` after)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        cpu, since = self._cpu(), time.monotonic()
        while self.poll() is None:
            now = time.monotonic()
            if deadline is not None and now > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            used = self._cpu()
            if used != cpu or hold.holding():
                cpu, since = used, now
            elif now - since > self.STALL_S:  # stuck on a lock it inherited: end it
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode

    def _cpu(self) -> str | None:
        """Its CPU ticks so far (user, system), as /proc says; None where it cannot tell."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return f"{fields[11]}/{fields[12]}"


@dataclass
class Ahead:
    """A helper process building one entry."""

    kind: str
    key: str
    process: subprocess.Popen | Forked
    started: float


_RUNNING: dict[tuple[str, str], Ahead] = {}


def launch(kind: str, key: str, cmd: list[str]) -> Ahead:
    """Start one helper process (its own session, lower priority: the item's own compile is
    what the run waits for) and record it. Ctrl-C is held off from before the process exists
    until it is recorded: an interrupt in between would leave a helper `stop` cannot see, still
    writing into the store after the run."""
    with _interrupts_held():
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        _RUNNING[(kind, key)] = ahead = Ahead(kind, key, proc, time.perf_counter())
    hold.register(proc)  # stopped while a latency is measured
    lower_priority(proc.pid)
    return ahead


def can_fork() -> bool:
    """Whether a helper can start as a fork of this process (Linux: torch and ExecuTorch are
    then imported already, and the program is in memory)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def fork(kind: str, key: str, work: Callable[[], int]) -> Ahead:
    """Start one helper as a fork of this process running `work()` (its exit code), recorded
    as `launch` records one: its own session, a lower priority, no terminal output, Ctrl-C
    and SIGTERM back to their defaults, and out through `os._exit` (nothing of this process's
    exit handlers, buffers or pytest state runs in it)."""
    with _interrupts_held(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12: a fork of a threaded process
        pid = os.fork()
        if pid == 0:  # the helper
            code = 1
            try:
                os.setsid()
                for signum in _HELD:
                    signal.signal(signum, signal.SIG_DFL)
                release_interrupts()
                sink = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(sink, fd)
                os.nice(10)
                code = work()
            except BaseException:  # noqa: BLE001 - the check builds it itself and says why
                code = 1
            finally:
                os._exit(code)
        _RUNNING[(kind, key)] = ahead = Ahead(kind, key, Forked(pid), time.perf_counter())
    hold.register(ahead.process)  # type: ignore[arg-type]  # stopped while a latency is measured
    return ahead


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM off: one that arrives is delivered on leaving.

    On the main thread (where checks run, and the only thread Python runs signal handlers on)
    the handlers are swapped for one that notes the signal, then restored and the signal raised
    again. Blocking the signals in this thread's mask alone is not enough: the kernel delivers a
    signal sent to the process to any thread that does not block it (xdist's, prewarm's), and
    Python then runs the handler on the main thread all the same. The mask is blocked too, so
    that the helper starts with both held until it takes them back (`release_interrupts`).
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    pending: list[int] = []
    swapped: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _HELD:
            swapped[signum] = signal.signal(signum, lambda n, _frame: pending.append(n))
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        for signum, handler in swapped.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)  # now, to the handler the run had


def release_interrupts() -> None:
    """In a helper: take back the interrupts its parent held while starting it (a child
    inherits the blocked mask)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


def running(kind: str, key: str) -> bool:
    """Whether a helper of this run is building this entry."""
    return (kind, key) in _RUNNING


def wait(kind: str, key: str) -> Ahead | None:
    """If a helper is building this entry, wait for it; the helper, or None."""
    ahead = _RUNNING.pop((kind, key), None)
    if ahead is not None:
        ahead.process.wait()
        hold.unregister(ahead.process)
    return ahead


def account(use: Use, ahead: Ahead | None) -> Use:
    """An entry our helper built counts as built by this check (once, here), not reused."""
    if ahead is None or use.status != REUSED or ahead.process.returncode != 0:
        return use
    return Use(use.kind, use.key, BUILT, use.bytes,
               "built ahead by a helper process while another target of this model compiled")


def stop() -> None:
    """End every helper still running and wait for it: the run is ending (or interrupted), and
    a helper left running would write into the store after it. Its half-built entry stays in
    the store's scratch directory, which the next run clears (the helper's pid is gone)."""
    while _RUNNING:
        _, ahead = _RUNNING.popitem()
        hold.unregister(ahead.process)
        if ahead.process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(ahead.process.pid, signal.SIGKILL)  # its own session: it and its compiler
            with contextlib.suppress(OSError):  # a fork not yet in its own session
                os.kill(ahead.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            ahead.process.wait(timeout=30)


atexit.register(stop)


def remove_when_done(path: str, procs: list[subprocess.Popen]) -> None:
    """Delete `path` once every one of `procs` has exited."""
    def reap() -> None:
        for p in procs:
            p.wait()
        Path(path).unlink(missing_ok=True)

    threading.Thread(target=reap, name="inferencecheck-prebuild-reaper", daemon=True).start()
