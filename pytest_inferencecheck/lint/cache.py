"""Each file's lint result, kept between runs, as ruff keeps `.ruff_cache`.

An entry's key names everything that decides a file's findings: its bytes, the name it is
shown under (findings and their fingerprints carry it), its target and enabled rules, the
Python that parses it, and this tool's own rule code (a digest of the `lint` package's
sources, so an edited rule never reads a stale entry, released or not). An entry is written to
a temporary file and renamed into place, so concurrent runs never read half an entry; one that
cannot be read or decoded is a miss, measured again. A cache that cannot be written is no
cache: the run lints every file and says nothing is wrong with the code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from pytest_inferencecheck.lint.walker import Finding

CACHE_ENV = "INFERENCECHECK_LINT_CACHE_DIR"
DEFAULT_DIR = ".inferencecheck_lint_cache"
_FORMAT = 1
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This folder is a cache of `inferencecheck lint`: see https://bford.info/cachedir/\n")


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

    @staticmethod
    def key(data: bytes, shown: str, target: Any, enabled: frozenset[str]) -> str:
        """The entry's name: what decides the file's findings, and nothing else."""
        h = hashlib.sha256(data)
        h.update(f"\0{shown}\0{target.id if target else ''}\0{','.join(sorted(enabled))}"
                 .encode())
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
        if not self.writable:
            return
        entry = {"findings": [dataclasses.asdict(f) for f in findings],
                 "errors": [dataclasses.asdict(e) for e in errors]}
        folder = self.folder / key[:2]
        try:
            self._prepare(folder)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump(entry, handle, separators=(",", ":"))
                os.replace(tmp, folder / key)
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


def default_root(project_root: Path | None) -> Path:
    """`$INFERENCECHECK_LINT_CACHE_DIR`, else `.inferencecheck_lint_cache` in the project
    root (the folder of the governing pyproject.toml), else in the current folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return (project_root or Path.cwd()) / DEFAULT_DIR
