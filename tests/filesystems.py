"""Real faulty filesystems for the store's tests: a full disk and a read-only one.

A small tmpfs is mounted where the machine allows it (root in a container, as in CI). Elsewhere a
read-only directory falls back to permissions (which do not bind root); a full disk cannot be
made without a mount, so that test is skipped off CI and fails on CI rather than pass unchecked.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    # mode=0700: a disk of this user's alone (a tmpfs is world-writable by default, and a store
    # another user can write is refused before it is ever written: issue 33)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"{options},mode=0700", "tmpfs",
                           str(path)],
                          capture_output=True, text=True)
    return proc.returncode == 0


def _unavailable(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must be able to make {what} (mount a tmpfs); this test would otherwise "
                    "check nothing")
    pytest.skip(f"this machine cannot make {what} (no permission to mount a tmpfs)")


@contextlib.contextmanager
def full_disk(path: Path, size: str = "256k") -> Iterator[Path]:
    """A directory on a filesystem of `size` bytes: writes past it fail with ENOSPC."""
    if not _mount(path, f"size={size}"):
        _unavailable("a full disk")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only(path: Path, populate: Path | None = None) -> Iterator[Path]:
    """A read-only directory (optionally a copy of `populate` first): writes fail with EROFS."""
    if _mount(path, "size=64m"):
        try:
            if populate is not None:
                subprocess.run(["cp", "-a", f"{populate}/.", str(path)], check=True)
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
        return
    if os.geteuid() == 0:
        _unavailable("a read-only directory")
    path.mkdir(parents=True, exist_ok=True)
    if populate is not None:
        subprocess.run(["cp", "-a", f"{populate}/.", str(path)], check=True)
    subprocess.run(["chmod", "-R", "a-w", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(path)], check=True)


def fill(folder: Path) -> None:
    """Fill the filesystem that holds `folder` to the last byte (a file named `filler`)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"x" * 4096):
            pass
    except OSError:  # ENOSPC: full
        pass
    finally:
        os.close(fd)
