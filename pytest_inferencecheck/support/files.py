"""Writing the files CI reads (reports, the baseline) and the files `lint --fix` rewrites:
whole or not at all, and never at the cost of what the path is.

A regular file is written to a temporary file beside it, flushed to disk, then renamed over it:
a failed write (read-only directory, full disk, killed process) leaves the previous file whole
and no half-written one for CI to read; its mode and owner are kept. What a rename would
destroy is written in place instead, as ruff and careful editors do:
- a symbolic link is written through (its target changes, the link stays a link);
- a device node, FIFO or socket (`/dev/null`, `/dev/stdout`) is written to, never replaced;
- a file with other hard links is rewritten in place, so every name still sees it;
- a file whose owner this process cannot give a new file, or in a folder it cannot write, is
  rewritten in place too.
Standard library only: the linter uses it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from pytest_inferencecheck.errors import WriteError


def _mode_for(target: Path) -> int:
    """The mode a plain `open(target, "w")` would leave: the replaced file's own mode, else
    0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _in_place(real: Path, st: os.stat_result) -> bool:
    """Whether renaming a new file over `real` would destroy what it is: not a regular file,
    one with other hard links, or one in a folder this process cannot write."""
    return (not stat.S_ISREG(st.st_mode) or st.st_nlink > 1
            or not os.access(real.parent, os.W_OK | os.X_OK))


def _write_in_place(real: Path, data: bytes, durable: bool) -> None:
    with open(real, "wb") as handle:
        handle.write(data)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())


def write_atomic(path: str | os.PathLike, text: str | bytes, *, what: str = "report",
                 durable: bool = True) -> Path:
    """Replace the contents of `path` with `text` (UTF-8, its line endings as they are; bytes as
    they are): atomically for a regular file, keeping its mode and owner; in place where a
    rename would destroy what the path is (see the module). Raise `WriteError` naming the file
    on failure.

    `durable=False` skips the fsync: the rename is still atomic, and the file survives the
    process dying (what mid-run progress reports are for), just not the machine losing power."""
    target = Path(path)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    tmp = None
    try:
        real = Path(os.path.realpath(target))  # through every symbolic link
        if real.is_dir():
            raise IsADirectoryError(f"{target} is a directory")
        try:
            st: os.stat_result | None = real.stat()
        except FileNotFoundError:
            st = None
        if st is not None and _in_place(real, st):
            _write_in_place(real, data, durable and stat.S_ISREG(st.st_mode))
            return target
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        os.fchmod(fd, _mode_for(real))  # mkstemp's 0600 would hide the report from CI's readers
        if st is not None and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, st.st_uid, st.st_gid)  # the file stays its owner's
            except PermissionError:  # only root gives files away: keep it by writing in place
                os.close(fd)
                os.unlink(tmp)
                tmp = None
                _write_in_place(real, data, durable)
                return target
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, real)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WriteError(f"cannot write the {what} {target}: {reason}"
                         + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(target)
                            else "")) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target
