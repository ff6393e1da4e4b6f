"""What makes a store's bytes trustworthy: whose they are, and their checksums.

Whose: a store, or an entry, that another user can write is never read.

Loading a `.pt2`, a `.so` or running the C++ runner is running code, so whoever can write a store
can run code in every process that reads it. The rule is ssh's StrictModes applied to the store:
a folder or file counts as ours when this user (or root) owns it and neither its group nor others
may write it; a symlink inside an entry counts as foreign. What this process writes it makes
private (`make_private`), whatever the umask, so that a store built under a group-writable umask
(Ubuntu's 002) is still trusted on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

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


def foreign_store(layout: Path) -> str | None:
    """Why another user could change what a store holds (its root, its layout folder
    `layout`, the entries, their kinds, the scratch), or None when it is this user's alone."""
    entries = layout / "entries"
    folders = [layout.parent, layout, entries, layout / "tmp"]
    try:
        folders += sorted(p for p in entries.iterdir() if p.is_dir())
    except OSError:
        pass  # no entries yet
    return next(filter(None, (foreign(f) for f in folders)), None)


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its `digest`: the SHA-256 of everything else in it (its files' sizes
    and checksums, and the `meta` a verdict reads, such as ExecuTorch's delegation share), so
    that no byte of an entry a check reads goes unchecked."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return {**body, "digest": hashlib.sha256(text.encode()).hexdigest()}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (artifacts can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
