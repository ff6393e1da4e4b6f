"""Each file's lint result, kept between runs, as ruff keeps `.ruff_cache`.

An entry's key names everything that decides a file's findings: its bytes, the name it is
shown under (findings and their fingerprints carry it), its target and enabled rules, the
Python that parses it, and this tool's own rule code (a digest of the `lint` package's
sources, so an edited rule never reads a stale entry, released or not). An entry is written to
a temporary file and renamed into place, so concurrent runs never read half an entry; one that
cannot be read or decoded is a miss, measured again. A cache that cannot be written is no
cache: the run lints every file and says nothing is wrong with the code.

Reading and hashing every file is most of a warm run, so an index (one file) also maps each
file's path to what `os.stat` said of it, the settings it was linted with and its result, as
ruff and git do. The index is trusted only where the stat proves the bytes unchanged: the same
inode, size, modification and change times (a write moves the change time, which no tool sets
back), for a file that had not changed for `SETTLED_NS` when it was recorded (git's "racily
clean" rule: a write in the same clock tick as the record would leave the times equal).
Anything else, a fresh checkout included, reads the bytes and takes the content-keyed entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_inferencecheck.lint.walker import Finding

CACHE_ENV = "INFERENCECHECK_LINT_CACHE_DIR"
DEFAULT_DIR = ".inferencecheck_lint_cache"
_FORMAT = 2
INDEX = "index.json"
SETTLED_NS = 2_000_000_000  # a file changed less than 2 s before it was recorded is re-read
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This folder is a cache of `inferencecheck lint`: see https://bford.info/cachedir/\n")


@functools.lru_cache(maxsize=1)  # once per process (workers inherit it from the fork)
def _tool_digest() -> str:
    """A digest of the linter's own sources: the rules as they are now."""
    h = hashlib.sha256(f"{_FORMAT}|{sys.version_info[:2]}".encode())
    here = Path(__file__).resolve().parent
    for path in sorted(here.rglob("*.py")):
        h.update(path.relative_to(here).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


class LintCache:
    """Per-file results under `root/<tool digest>/`; `hits`/`misses` count this run's lookups."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.folder = self.root / _tool_digest()
        self.hits = self.misses = 0
        self.writable = True
        self._index: dict[str, list[Any]] | None = None
        self._index_changed = False

    # -- the index: path -> (stat, settings, result) ---------------------------------------
    @staticmethod
    def stat_of(st: os.stat_result) -> list[int]:
        """What proves a file unchanged: inode, size, modification and change times."""
        return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def _load_index(self) -> dict[str, list[Any]]:
        if self._index is None:
            try:
                index = json.loads((self.folder / INDEX).read_bytes())
                self._index = index if isinstance(index, dict) else {}
            except (OSError, ValueError):
                self._index = {}
        return self._index

    def lookup(self, path: str, stat: list[int], settings: str) -> dict[str, Any] | None:
        """The result recorded for this path if its stat and settings are the recorded ones."""
        found = self._load_index().get(path)
        if isinstance(found, list) and len(found) == 3 and found[0] == stat and \
                found[1] == settings and isinstance(found[2], dict) and \
                isinstance(found[2].get("findings"), list):
            self.hits += 1
            return found[2]
        return None

    def record(self, path: str, stat: list[int], settings: str, findings: list[Finding],
               errors: list[Any], now_ns: int | None = None) -> None:
        """Remember a result for the path's stat, taken before its bytes were read; a file
        changed within `SETTLED_NS` of now is left out (its times could hide a second write)."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        if max(stat[2], stat[3]) > now_ns - SETTLED_NS:
            return
        self._load_index()[path] = [stat, settings, _entry(findings, errors)]
        self._index_changed = True

    def save(self) -> None:
        """Write the index whole (temp file + rename); a concurrent run's index may replace
        it, which only costs that run's files a read next time."""
        if self._index_changed and self.writable:
            self._write(self.folder, INDEX, self._load_index())
            self._index_changed = False

    @staticmethod
    def settings(shown: str, target: Any, enabled: frozenset[str]) -> str:
        """What decides a file's findings besides its bytes: its name, target and rules."""
        return f"{shown}\0{target.id if target else ''}\0{','.join(sorted(enabled))}"

    @staticmethod
    def key(data: bytes, settings: str) -> str:
        """The entry's name: the file's bytes and `settings`, and nothing else."""
        h = hashlib.sha256(data)
        h.update(b"\0" + settings.encode())
        return h.hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result, or None (absent, unreadable or malformed: lint it again)."""
        try:
            entry = json.loads((self.folder / key[:2] / key).read_bytes())
            if not isinstance(entry, dict) or not isinstance(entry.get("findings"), list):
                raise ValueError("malformed")
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, key: str, findings: list[Finding], errors: list[Any]) -> None:
        """Keep a result; a cache that cannot be written turns itself off, silently."""
        if self.writable:
            self._write(self.folder / key[:2], key, _entry(findings, errors))

    def _write(self, folder: Path, name: str, data: Any) -> None:
        try:
            self._prepare(folder)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump(data, handle, separators=(",", ":"))
                os.replace(tmp, folder / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            self.writable = False

    def _prepare(self, folder: Path) -> None:
        if folder.is_dir():
            return
        fresh = not self.root.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if fresh:  # mark it, as ruff does: never committed, never backed up
            (self.root / ".gitignore").write_text("# automatically created by inferencecheck "
                                                  "lint\n*\n")
            (self.root / "CACHEDIR.TAG").write_text(_TAG)


def _entry(findings: list[Finding], errors: list[Any]) -> dict[str, Any]:
    return {"findings": [dataclasses.asdict(f) for f in findings],
            "errors": [dataclasses.asdict(e) for e in errors]}


def default_root(project_root: Path | None) -> Path:
    """`$INFERENCECHECK_LINT_CACHE_DIR`, else `.inferencecheck_lint_cache` in the project
    root (the folder of the governing pyproject.toml), else in the current folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return (project_root or Path.cwd()) / DEFAULT_DIR
