"""SIGTERM handled as SIGINT: what CI runners send on cancel and timeout ends a run the way
Ctrl-C does (helpers and builds stopped, nothing written into the store after the run, the
check in flight reported as interrupted), instead of killing the process where it stands."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"terminated (signal {signum})")


def terminate_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise `KeyboardInterrupt` on the main thread, as SIGINT does, unless
    someone else already handles it; returns what puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return lambda: None
    signal.signal(signal.SIGTERM, _on_terminate)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is _on_terminate:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    return restore
