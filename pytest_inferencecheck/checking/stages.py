"""Timed stages of a check; a failing stage records the user's traceback, never ours."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pytest_inferencecheck.errors import CheckTimeout, StageError
from pytest_inferencecheck.result import FAILED, PASSED, SKIPPED, Stage
from pytest_inferencecheck.support.locations import Location, is_user_file, locate


def describe(exc: BaseException) -> str:
    """`Type: first line of the message`."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def full_message(exc: BaseException, limit: int = 4000) -> str:
    """`Type: message` with every line (a runner's stderr, a compiler's errors), trimmed."""
    text = str(exc).strip()
    if len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more characters]"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def user_traceback(exc: BaseException) -> str:
    """The traceback frames in the user's own code ('' if none): never our internals."""
    keep = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    return "".join(traceback.format_list(keep)).rstrip()


def exception_location(exc: BaseException) -> Location | None:
    """The innermost user frame of an exception's traceback, if any."""
    frames = [(f.filename, f.lineno or 0, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    user, _ = locate(frames)
    return user if user and user.user_code else None


@contextlib.contextmanager
def deadline(seconds: float | None, stages: Stages) -> Iterator[None]:
    """Raise `CheckTimeout` in this thread after `seconds` (SIGALRM, as pytest-timeout's signal
    method; a sleeping or Python-level hang is interrupted, and a C call is as soon as it returns
    to Python). Off the main thread, or without SIGALRM, there is no deadline. An outer
    alarm (pytest-timeout's) is restored afterwards."""

    if not seconds or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    started = time.monotonic()

    def on_alarm(signum, frame):  # type: ignore[no-untyped-def]
        raise CheckTimeout(seconds, stages.current)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # someone else's alarm was pending: re-arm what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started),
                                                     0.001))


@dataclass
class _Handle:
    detail: str = ""


class Stages:
    """The ordered, timed stages of one check. `on_stage` sees each one as it finishes."""

    def __init__(self, on_stage: Callable[[Stage], None] | None = None) -> None:
        self.stages: list[Stage] = []
        self.current: str | None = None  # the stage running now (named by a timeout)
        self._on_stage = on_stage

    def _add(self, stage: Stage) -> None:
        self.stages.append(stage)
        if self._on_stage is not None:
            self._on_stage(stage)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[_Handle]:
        """Time a stage; an exception inside becomes a failed stage and a `StageError`."""
        handle = _Handle()
        start = time.perf_counter()
        outer, self.current = self.current, name
        try:
            yield handle
        except StageError:
            raise
        except CheckTimeout as exc:
            self._add(Stage(name, FAILED, time.perf_counter() - start, str(exc)))
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of user code or torch is a result
            self._add(Stage(name, FAILED, time.perf_counter() - start, describe(exc)))
            raise StageError(name, exc, exception_location(exc)) from exc
        finally:
            self.current = outer
        self._add(Stage(name, PASSED, time.perf_counter() - start, handle.detail))

    def mark(self) -> int:
        """A point to `rewind` to."""
        return len(self.stages)

    def rewind(self, mark: int) -> None:
        """Forget the stages since `mark` (they are being run again)."""
        del self.stages[mark:]

    def skip(self, name: str, detail: str) -> None:
        """Record a stage that did not run here, and why."""
        self._add(Stage(name, SKIPPED, 0.0, detail))

    def replay(self, stage: Stage) -> None:
        """Record a stage another check ran for this one (facts shared within a call)."""
        self._add(stage)

    def record(self, name: str, seconds: float, detail: str = "") -> None:
        """Record a stage timed by the caller that passed."""
        self._add(Stage(name, PASSED, seconds, detail))

    def fail(self, name: str, seconds: float, detail: str) -> None:
        """Record a stage that ran and found a problem without raising (e.g. numerics)."""
        self._add(Stage(name, FAILED, seconds, detail))


