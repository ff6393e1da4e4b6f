"""File locks for the artifact store, and the shared locks this process holds on entries in use.

Builders hold an exclusive `flock` per key; a check holds a shared one on each entry it uses
(a pin) until it ends, so that pruning, here or in another process, leaves the entry alone.
Pins are registered process-wide: no store object may wait on a lock its own process holds.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path


def flock(fd: int, *, shared: bool = False, blocking: bool = True) -> None:
    """flock(2) on an open descriptor (nothing on Windows: publishing by rename still holds)."""
    if sys.platform == "win32":  # pragma: no cover
        return
    import fcntl  # noqa: PLC0415 - POSIX only: Windows has no fcntl

    op = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    fcntl.flock(fd, op if blocking else op | fcntl.LOCK_NB)


def lock_file(path: Path, *, exclusive: bool, blocking: bool = True) -> int:
    """Open and flock a lock file; retried if the file was replaced while we waited for it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            flock(fd, shared=not exclusive, blocking=blocking)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd
        os.close(fd)  # a pruner removed the file while we waited: lock the new one


class Pins:
    """Shared locks this process holds: lock file -> {thread id: descriptor}."""

    def __init__(self) -> None:
        self._held: dict[str, dict[int, int]] = {}
        self._guard = threading.Lock()

    def pin(self, path: Path, fd: int | None = None) -> None:
        """Hold a shared lock on `path` for this thread (downgrading `fd` if one is given)."""
        key, me = str(path), threading.get_ident()
        with self._guard:
            if me in self._held.get(key, {}):
                if fd is not None:
                    os.close(fd)
                return
        if fd is None:
            try:
                fd = lock_file(path, exclusive=False)
            except OSError:
                return  # a store we only read: nothing prunes it while we use it
        else:
            flock(fd, shared=True)
        with self._guard:
            self._held.setdefault(key, {})[me] = fd

    def unpin_mine(self, path: Path) -> None:
        """Drop this thread's lock on `path`."""
        with self._guard:
            fd = self._held.get(str(path), {}).pop(threading.get_ident(), None)
        _close(fd)

    def unpin_everywhere(self, path: Path) -> None:
        """Drop every thread's lock on `path`: our own would block our exclusive one."""
        with self._guard:
            fds = list(self._held.pop(str(path), {}).values())
        for fd in fds:
            _close(fd)

    def held_by_me(self, path: Path) -> bool:
        """True if this thread holds `path`."""
        with self._guard:
            return threading.get_ident() in self._held.get(str(path), {})

    def pinned(self, path: Path) -> bool:
        """True if some thread of this process holds `path`."""
        with self._guard:
            return bool(self._held.get(str(path)))

    def release_thread(self) -> None:
        """Drop every lock this thread holds."""
        me = threading.get_ident()
        with self._guard:
            fds = [held.pop(me) for held in self._held.values() if me in held]
        for fd in fds:
            _close(fd)


def _close(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


PINS = Pins()
