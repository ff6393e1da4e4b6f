"""Whose store is it: a store, or an entry, that another user can write is never read.

Loading a `.pt2`, a `.so` or running the C++ runner is running code, so whoever can write a store
can run code in every process that reads it. The rule is ssh's StrictModes applied to the store:
a folder or file counts as ours when this user (or root) owns it and neither its group nor others
may write it; a symlink inside an entry counts as foreign. What this process writes it makes
private (`make_private`), whatever the umask, so that a store built under a group-writable umask
(Ubuntu's 002) is still trusted on the next run.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def _owner(uid: int) -> str:
    try:
        import pwd  # noqa: PLC0415 - POSIX only; a name is a courtesy

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def foreign(path: Path, *, follow: bool = True) -> str | None:
    """Why another user could write `path`, or None when it is ours alone (or absent)."""
    try:
        st = path.stat() if follow else path.lstat()
    except (FileNotFoundError, NotADirectoryError):  # absent: nothing there to trust
        return None
    except OSError as exc:
        return f"{path} cannot be inspected ({exc.strerror or exc})"
    if not follow and stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link"
    me = os.geteuid() if hasattr(os, "geteuid") else st.st_uid
    if st.st_uid not in (me, 0):
        return f"{path} belongs to {_owner(st.st_uid)}"
    if st.st_mode & _OTHERS_WRITE:
        return f"{path} is writable by its group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def make_private(path: Path) -> None:
    """Take group and other write permission off a folder or file this user owns."""
    try:
        st = path.lstat()
        if st.st_uid == os.geteuid() and st.st_mode & _OTHERS_WRITE \
                and not stat.S_ISLNK(st.st_mode):
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~_OTHERS_WRITE)
    except OSError:
        pass  # a folder that cannot be changed is judged by `foreign` as it is
