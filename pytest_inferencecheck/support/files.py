"""Writing the files CI reads (reports, the baseline): whole or not at all.

A report is written to a temporary file beside its destination, flushed to disk, then renamed
over it: a failed write (read-only directory, full disk, killed process) leaves the previous
file whole and no half-written one for CI to read. Standard library only: the linter uses it.
"""

from __future__ import annotations

import os
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


def write_atomic(path: str | os.PathLike, text: str | bytes, *, what: str = "report",
                 durable: bool = True) -> Path:
    """Replace `path` with `text` (UTF-8 with `\n` lines; bytes as they are) atomically,
    keeping the replaced file's mode; raise `WriteError` naming the file on failure.

    `durable=False` skips the fsync: the rename is still atomic, and the file survives the
    process dying (what mid-run progress reports are for), just not the machine losing power."""
    target = Path(path)
    tmp = None
    try:
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.fchmod(fd, _mode_for(target))  # mkstemp's 0600 would hide the report from CI's readers
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else
              os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
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
