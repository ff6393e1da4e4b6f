"""Keeping a store within its cap and clean: listing its entries, pruning the least recently
used, clearing it, and removing the scratch a killed run left behind. Reads the layout the store
writes (`layout`) and never builds anything; `ArtifactStore` inherits it (`Housekeeping`), and
`inferencecheck cache` lists a store without opening it (`list_entries`, `holds_store`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_inferencecheck.store.layout import LAYOUT, MANIFEST
from pytest_inferencecheck.store.locks import lock_file

STALE_TMP_S = 24 * 3600


@dataclass(frozen=True)
class EntryInfo:
    """One entry as `inferencecheck cache` lists it."""

    kind: str
    key: str
    bytes: int
    last_used: float
    label: str


def alive(pid: int) -> bool:
    """Whether a process with this id runs (ours or another user's)."""
    try:
        os.kill(pid, 0)  # this process too: signal 0 only asks
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    return True


def dir_size(folder: Path) -> int:
    """Bytes of the plain files under `folder` (what a walk can still see)."""
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):  # removed while we walk: a builder finished
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
    return total


def holds_store(root: Path) -> bool:
    """Whether `root` has a store's layout (a store was opened there), read without writing."""
    return (root / LAYOUT / "entries").is_dir()


def list_entries(root: Path) -> list[EntryInfo]:
    """Every entry of the store at `root` with its size and last use (most recent first),
    read without writing anything (a read-only store lists as well as any)."""
    out = []
    base = root / LAYOUT / "entries"
    for manifest in base.glob(f"*/*/{MANIFEST}"):
        try:
            data = json.loads(manifest.read_text())
            size = sum(int(f["bytes"]) for f in data["files"].values())
            used = manifest.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            size, used, data = dir_size(manifest.parent), 0.0, {}
        out.append(EntryInfo(manifest.parent.parent.name, manifest.parent.name, size, used,
                             str(data.get("label") or "")))
    for folder in base.glob("*/*"):  # entries without a manifest: interrupted or foreign
        if folder.is_dir() and not (folder / MANIFEST).exists():
            out.append(EntryInfo(folder.parent.name, folder.name, dir_size(folder), 0.0,
                                 "(no manifest)"))
    return sorted(out, key=lambda e: e.last_used, reverse=True)


class Housekeeping:
    """The store's housekeeping, on the layout under `root` (see the module docstring)."""

    root: Path
    max_bytes: int

    def _lock_path(self, kind: str, key: str) -> Path:
        raise NotImplementedError

    def _pinned_here(self, kind: str, key: str) -> bool:
        raise NotImplementedError

    def _dir(self, root: Path, kind: str, key: str) -> Path:
        raise NotImplementedError

    def entries(self) -> list[EntryInfo]:
        """Every entry with its size and last use (most recent first)."""
        return list_entries(self.root)

    def size(self) -> int:
        """Total bytes of all entries."""
        return sum(e.bytes for e in self.entries())

    def prune(self, max_bytes: int | None = None, *, keep: set[tuple[str, str]] = frozenset()
              ) -> list[EntryInfo]:
        """Remove least recently used entries until the store fits `max_bytes` (default: the cap).

        Entries in use (locked by any process) and `keep` are skipped; stale temporary
        directories of dead or long-gone builders are removed as well.
        """
        limit = self.max_bytes if max_bytes is None else max_bytes
        self._remove_stale_tmp()
        entries = self.entries()
        total = sum(e.bytes for e in entries) + self.scratch_bytes()
        removed: list[EntryInfo] = []
        for e in sorted(entries, key=lambda e: e.last_used):
            if total <= limit:
                break
            if (e.kind, e.key) in keep or self._pinned_here(e.kind, e.key):
                continue
            if self._remove(e.kind, e.key):
                total -= e.bytes
                removed.append(e)
        return removed

    def scratch_bytes(self) -> int:
        """Bytes in the scratch directory: entries being built, helpers' programs."""
        return dir_size(self.root / LAYOUT / "tmp")

    def clear(self) -> list[EntryInfo]:
        """Remove every entry not in use."""
        removed = [e for e in self.entries() if self._remove(e.kind, e.key)]
        self._remove_stale_tmp()
        return removed

    def _remove(self, kind: str, key: str) -> bool:
        try:
            fd = lock_file(self._lock_path(kind, key), exclusive=True, blocking=False)
        except BlockingIOError:
            return False  # in use by a check somewhere
        except OSError:
            return False
        try:
            folder = self._dir(self.root, kind, key)
            if folder.exists():
                trash = Path(tempfile.mkdtemp(prefix=f"trash-{os.getpid()}-",
                                              dir=self.root / LAYOUT / "tmp"))
                os.rename(folder, trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.unlink(self._lock_path(kind, key))
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def _remove_stale_tmp(self) -> None:
        """Remove scratch whose writer is gone: named `<what>-<...>-<pid>-<random>`, a dead pid
        (or a day old) means a killed run left it."""
        tmp = self.root / LAYOUT / "tmp"
        now = time.time()
        for path in tmp.glob("*"):
            if path.name.startswith(".probe-"):
                continue
            try:
                parts = path.name.split("-")
                pid = int(parts[-2]) if len(parts) >= 3 else None
            except ValueError:
                pid = None
            try:
                old = now - path.lstat().st_mtime > STALE_TMP_S
            except OSError:
                continue
            dead = not alive(pid) if pid is not None else path.name.startswith("trash-")
            if old or dead:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        path.unlink()
