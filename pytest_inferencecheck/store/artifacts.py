"""The artifact store: content-addressed entries, checked before use, each built once.

The rule every user of the store keeps: a result built from reused entries is exactly the result
a cold run (an empty store) would give. So an entry's key names everything that decides it
(`keys`, `runners`, `paths`): nothing measured by a trace is stored, only what comes after it,
keyed by the program the check's own trace produced; where an input cannot be keyed faithfully,
nothing is kept and the work is done again. The store itself only guarantees that an entry is the
one its builder wrote, whole.

An entry is a directory holding files and a `manifest.json` that lists every file with its size
and SHA-256; an entry is published by renaming a finished temporary directory into place, so a
reader sees a whole entry or none. Builders take an exclusive `flock` per key, so two processes
(xdist workers, parallel CI jobs) that need the same entry build it once: the other one waits and
reuses it. Readers take a shared lock while a check uses an entry, and pruning (least recently
used first, down to a size cap that counts the scratch directory too) skips entries that are
locked. Scratch left by a killed run (a half-built entry, a helper's program file: each named
with its writer's pid) is removed when the store is next opened.

A store that cannot be written (read-only, full, not a directory) degrades to a temporary
directory for this process and says so in `note`; it never fails a check. A corrupt, truncated or
foreign entry is rebuilt and the use says why.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import EntryRefused
from pytest_inferencecheck.result import BUILT, FETCHED, REBUILT, REUSED, Use
from pytest_inferencecheck.store import trust
from pytest_inferencecheck.store.housekeeping import (  # noqa: F401 - the store's public names
    EntryInfo,
    Housekeeping,
    holds_store,
    list_entries,
)
from pytest_inferencecheck.store.layout import LAYOUT, MANIFEST, SCHEMA
from pytest_inferencecheck.store.locks import PINS, lock_file
from pytest_inferencecheck.store.remote import RemoteTier
from pytest_inferencecheck.store.trust import file_sha256, seal
from pytest_inferencecheck.support.sizes import human

DEFAULT_MAX_BYTES = 5 * 2**30
MARGIN_BYTES = 32 * 2**20  # room kept free beyond what a build says it writes
ENV_DIR = "INFERENCECHECK_CACHE_DIR"
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                 errno.ENOTDIR, errno.EEXIST}



def default_root() -> Path:
    """`$INFERENCECHECK_CACHE_DIR`, else the user's cache folder (`user_cache_root`)."""
    env = os.environ.get(ENV_DIR)
    return Path(env).expanduser() if env else user_cache_root()


def user_cache_root() -> Path:
    """`$XDG_CACHE_HOME/pytest-inferencecheck`, else ~/.cache/pytest-inferencecheck."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-inferencecheck"


@dataclass(frozen=True)
class Entry:
    """A verified entry: its directory, its files and what its builder recorded."""

    kind: str
    key: str
    path: Path
    files: dict[str, dict[str, Any]]
    meta: dict[str, Any]

    def file(self, name: str) -> Path:
        """The path of one of the entry's files."""
        return self.path / name

    @property
    def bytes(self) -> int:
        """The total size of the entry's files."""
        return sum(int(f["bytes"]) for f in self.files.values())




class _Invalid(Exception):
    """An entry that exists but cannot be trusted; the message says why."""


class ArtifactStore(Housekeeping):
    """Entries by (kind, key) under one root; see the module docstring for the guarantees."""

    def __init__(self, root: Path | str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 persistent: bool = True, remote: RemoteTier | None = None) -> None:
        self.max_bytes = max_bytes
        self.remote = remote  # the team store behind this one (`remote`), if the run has one
        self._fetched: set[tuple[str, str]] = set()  # entries this process took from it
        self._refused: dict[tuple[str, str], str] = {}  # ...and those it would not load
        self._discarded: set[tuple[str, str]] = set()  # found wrong here: never fetched again
        self.requested = Path(root).expanduser() if root is not None else default_root()
        self.note: str | None = None
        self.write_problem: str | None = None  # why the requested root cannot be written
        self._read_only_root: Path | None = None
        if not persistent:
            self.root, self.persistent = self._temporary_root(), False
            return
        self.root, self.persistent = self.requested, True
        distrust = trust.foreign_store(self.requested / LAYOUT)  # before anything is written
        problem = None if distrust else self._prepare(self.root)
        distrust = distrust or (None if problem else trust.foreign_store(self.requested / LAYOUT))
        if distrust:
            self._refuse(distrust)
        elif problem:
            self._degrade(problem, keep_reading=self._readable(self.requested))
        else:  # what a killed run left behind (a helper's program, a half-built entry)
            self._remove_stale_tmp()

    @property
    def notes(self) -> list[str]:
        """What a check should say about the store: a degraded or refused store, a team store
        that failed this run."""
        remote = [self.remote.note, *self.remote.traffic.refused] if self.remote else []
        return [n for n in (self.note, *remote) if n]

    # -- where entries live ---------------------------------------------------------------------
    def _temporary_root(self) -> Path:
        root = Path(tempfile.mkdtemp(prefix="inferencecheck-store-"))
        weakref.finalize(self, shutil.rmtree, root, True)
        self._prepare(root)
        return root

    def _refuse(self, reason: str) -> None:
        """A store another user can write runs their code as ours: never read it; this run
        builds in a private temporary store instead, and says so once."""
        self.write_problem = reason
        self.note = (f"the artifact store at {self.requested} is not read: {reason}, and another "
                     "user who can write a store runs code in every run that loads from it. "
                     "This run builds in a private temporary store. Use a store of your own "
                     "(--inference-check-cache-dir), or make it yours alone (chown it to you and "
                     "`chmod -R go-w` it, or `inferencecheck cache clear` it)")
        self.root, self.persistent = self._temporary_root(), False

    @staticmethod
    def _prepare(root: Path) -> str | None:
        """Create the layout (this user's alone) and prove it writable; a reason when not."""
        try:
            for sub in ("entries", "locks", "tmp"):
                (root / LAYOUT / sub).mkdir(parents=True, exist_ok=True)
            tag = root / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                               "# pytest-inferencecheck's artifact store; safe to delete.\n")
            for path in (root, root / LAYOUT, *(root / LAYOUT / s for s in
                                                 ("entries", "locks", "tmp")), tag):
                trust.make_private(path)
            fd, probe = tempfile.mkstemp(dir=root / LAYOUT / "tmp", prefix=".probe-")
            try:
                os.write(fd, b"\0" * 4096)
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            return _os_reason(exc)
        return None

    @staticmethod
    def _readable(root: Path) -> bool:
        return (root / LAYOUT / "entries").is_dir() and os.access(root / LAYOUT / "entries",
                                                                  os.R_OK | os.X_OK)

    def _degrade(self, reason: str, *, keep_reading: bool) -> None:
        """Switch writes to a temporary directory for the rest of this process, with a note."""
        if not self.persistent and self.note:
            return
        self.write_problem = reason
        self.note = (f"the artifact cache at {self.requested} cannot be written ({reason}): "
                     "artifacts are built in a temporary directory and not kept after this run")
        if keep_reading:
            self._read_only_root = self.requested
        self.root, self.persistent = self._temporary_root(), False

    def _dir(self, root: Path, kind: str, key: str) -> Path:
        return root / LAYOUT / "entries" / kind / key

    def _lock_path(self, kind: str, key: str) -> Path:
        return self.root / LAYOUT / "locks" / f"{kind}-{key}.lock"

    # -- locks ----------------------------------------------------------------------------------
    def _pin(self, kind: str, key: str, fd: int | None = None) -> None:
        PINS.pin(self._lock_path(kind, key), fd)

    def _unpin_everywhere(self, kind: str, key: str) -> None:
        PINS.unpin_everywhere(self._lock_path(kind, key))

    def _unpin_mine(self, kind: str, key: str) -> None:
        PINS.unpin_mine(self._lock_path(kind, key))

    def _pinned_here(self, kind: str, key: str) -> bool:
        return PINS.pinned(self._lock_path(kind, key))

    @staticmethod
    def release() -> None:
        """Let go of every entry this thread pinned (a check calls this when it ends)."""
        PINS.release_thread()

    def holds(self, kind: str, key: str) -> bool:
        """True if the store has a valid entry for (kind, key). Pins nothing, and leaves this
        thread's pins as they were, this entry's included."""
        mine = self._pinned_by_me(kind, key)
        try:
            return self.lookup(kind, key) is not None
        finally:
            if not mine:
                self._unpin_mine(kind, key)

    def _pinned_by_me(self, kind: str, key: str) -> bool:
        return PINS.held_by_me(self._lock_path(kind, key))

    def scratch_file(self, prefix: str, suffix: str = "") -> Path:
        """A new file in the store's scratch directory, named with this process's id so that
        the next run removes it if this process dies before it does."""
        fd, name = tempfile.mkstemp(prefix=f"{prefix}-{os.getpid()}-", suffix=suffix,
                                    dir=self.root / LAYOUT / "tmp")
        os.close(fd)
        return Path(name)

    # -- reading ----------------------------------------------------------------------------------
    def _read(self, root: Path, kind: str, key: str) -> Entry | None:
        """The verified entry, None when absent; `_Invalid` when present but untrustworthy."""
        folder = self._dir(root, kind, key)
        manifest = folder / MANIFEST
        if folder.exists():
            for path in (folder, *sorted(folder.iterdir())):
                why = trust.foreign(path, follow=False)
                if why:
                    raise _Invalid(f"another user could have written it ({why}): never "
                                   "loaded, built again")
        try:
            raw = manifest.read_text()
        except FileNotFoundError:
            if folder.exists():
                raise _Invalid("it has no manifest (an interrupted or foreign write)") from None
            return None
        except OSError as exc:
            raise _Invalid(f"its manifest cannot be read ({_os_reason(exc)})") from None
        try:
            data = json.loads(raw)
            files = data["files"]
            ok = (data.get("schema") == SCHEMA and data.get("kind") == kind
                  and data.get("key") == key and isinstance(files, dict))
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise _Invalid("its manifest is not a valid manifest for this key (a foreign or "
                           "damaged entry)")
        if seal(data).get("digest") != data.get("digest"):
            raise _Invalid("its manifest fails its own checksum (edited or damaged): the "
                           "store was damaged, not the model")
        for name, info in files.items():
            path = folder / name
            try:
                size = path.stat().st_size
            except OSError:
                raise _Invalid(f"{name} is missing") from None
            if size != info.get("bytes"):
                raise _Invalid(f"{name} is {size} bytes where {info.get('bytes')} were "
                               "written (truncated or overwritten)")
            if file_sha256(path) != info.get("sha256"):
                raise _Invalid(f"{name} fails its SHA-256 checksum (corrupted)")
        return Entry(kind, key, folder, files, dict(data.get("meta") or {}))

    def _use(self, root: Path, kind: str, key: str) -> Entry | None:
        """Pin, then read and verify: an entry is never checked and then pruned before use (a
        key being built elsewhere is waited for)."""
        if root != self.root:
            return self._read(root, kind, key)
        self._pin(kind, key)
        try:
            entry = self._read(root, kind, key)
        except BaseException:
            self._unpin_mine(kind, key)
            raise
        if entry is None:
            self._unpin_mine(kind, key)
        else:
            self._touch(entry)
        return entry

    def lookup(self, kind: str, key: str) -> Entry | None:
        """The entry if it exists and passes its checksums (and pin it), read through the team
        store on a local miss; None otherwise."""
        entry = self._lookup_local(kind, key)
        if entry is None and self.pull(kind, key):
            entry = self._lookup_local(kind, key)
        return entry

    def _lookup_local(self, kind: str, key: str) -> Entry | None:
        for root in filter(None, (self.root, self._read_only_root)):
            try:
                entry = self._use(root, kind, key)
            except _Invalid:
                continue
            if entry is not None:
                return entry
        return None

    # -- the team store ---------------------------------------------------------------------------
    def pull(self, kind: str, key: str) -> bool:
        """Take (kind, key) from the team store into this one, under the key's lock; whether
        this store now holds it. Nothing is built."""
        if self.remote is None or self.remote.down is not None or not self.persistent:
            return False
        try:
            fd = lock_file(self._lock_path(kind, key), exclusive=True)
        except OSError:
            return False
        try:
            with contextlib.suppress(_Invalid):
                if self._read(self.root, kind, key) is not None:
                    return True
            return self._fetch(kind, key, "") is not None
        except _StoreUnwritable:
            return False
        finally:
            os.close(fd)

    def _fetch(self, kind: str, key: str, label: str) -> Entry | None:
        """The team store's entry for (kind, key), verified and published here (the caller
        holds the key's lock); None when it has none, is off, or holds one it would not load
        (the reason is kept for the build's note)."""
        remote = self.remote
        if remote is None or remote.down is not None or (kind, key) in self._discarded:
            return None

        folder = self._scratch_entry(kind, key)
        try:
            meta = remote.fetch(kind, key, folder, self.max_bytes)
            if meta is None:  # none there, or the remote went off: nothing to place
                return None
            entry = self._place(kind, key, folder, meta, label)
        except OSError as exc:  # writing the download here failed (a full disk)
            raise _StoreUnwritable(_os_reason(exc)) from None
        except EntryRefused as exc:
            why = f"the team store's {kind} {key[:12]} was not loaded ({exc}): built here instead"
            self._refused[(kind, key)] = why
            remote.traffic.refused.append(why)
            return None
        finally:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
        self._fetched.add((kind, key))
        return entry

    def share(self, entry: Entry, use: Use) -> Use:
        """Publish an entry this run built to the team store, when this run writes to it;
        the use, marked published when it was."""
        if self.remote is None or not self.remote.writes or use.status not in (BUILT, REBUILT):
            return use
        try:
            manifest = json.loads((entry.path / MANIFEST).read_text())
        except (OSError, ValueError):
            return use
        if seal(manifest).get("digest") != manifest.get("digest"):
            return use
        moved = self.remote.publish(entry.kind, entry.key, entry.path, manifest)
        if moved is None:
            return use
        return Use(use.kind, use.key, use.status, use.bytes, use.note, published=moved)

    def _touch(self, entry: Entry) -> None:
        with contextlib.suppress(OSError):
            os.utime(entry.path / MANIFEST)

    # -- building ---------------------------------------------------------------------------------
    def obtain(self, kind: str, key: str, build: Callable[[Path], dict[str, Any] | None], *,
               label: str = "", accept: Callable[[Entry], str | None] | None = None,
               size_hint: int = 0) -> tuple[Entry, Use]:
        """The entry for (kind, key): reused when valid, else built once under the key's lock.

        `build(folder)` writes the entry's files into `folder` and returns its metadata.
        `accept(entry)` may reject a valid entry whose inputs went stale (a reason string):
        it is then rebuilt in place, as a corrupt one is. `size_hint` is about how many bytes
        the build writes: without that much room (and a margin) the build goes elsewhere, since
        torch's package writer aborts the whole process on a full disk.
        """
        problem: str | None = None
        for root in filter(None, (self.root, self._read_only_root)):
            try:
                entry = self._use(root, kind, key)
            except _Invalid as exc:
                problem = f"the stored entry was unusable: {exc}"
                continue
            if entry is not None:
                problem = accept(entry) if accept else None
                if problem is None:
                    return entry, Use(kind, key, self.reuse_status(kind, key), entry.bytes)
        try:
            return self._build_locked(kind, key, build, label, accept, size_hint)
        except _StoreUnwritable as exc:
            self._degrade(exc.reason, keep_reading=False)
            return self._build_locked(kind, key, build, label, accept, size_hint,
                                      note=self.note)

    def _build_locked(self, kind: str, key: str, build: Callable[[Path], dict | None],
                      label: str, accept: Callable[[Entry], str | None] | None,
                      size_hint: int, note: str | None = None) -> tuple[Entry, Use]:
        self._unpin_everywhere(kind, key)
        try:
            fd = lock_file(self._lock_path(kind, key), exclusive=True)
        except OSError as exc:
            raise _StoreUnwritable(_os_reason(exc)) from None
        try:
            problem: str | None = None
            try:
                entry = self._read(self.root, kind, key)
                if entry is not None and accept is not None:
                    problem = accept(entry)
                    entry = None if problem else entry
            except _Invalid as exc:
                entry, problem = None, f"the stored entry was unusable: {exc}"
            if entry is not None:  # another process built it while this one waited
                self._pin(kind, key, fd)
                self._touch(entry)
                return entry, Use(kind, key, self.reuse_status(kind, key), entry.bytes)
            self._make_room(size_hint)
            fetched = self._fetch(kind, key, label)
            self._fetched.discard((kind, key))  # said here, or replaced by the build below
            stale = accept(fetched) if fetched is not None and accept is not None else None
            if fetched is not None and stale is None:
                self._pin(kind, key, fd)
                return fetched, Use(kind, key, FETCHED, fetched.bytes)
            if stale:
                problem = f"the team store's entry was not used: {stale}"
            refused = self._refused.pop((kind, key), None)
            entry = self._build_and_publish(kind, key, build, label)
            self._pin(kind, key, fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        self.prune(keep={(kind, key)})
        status = REBUILT if problem else BUILT
        use = Use(kind, key, status, entry.bytes,
                  "; ".join(filter(None, (problem, refused, note or self.note))) or None)
        return entry, self.share(entry, use)

    def reuse_status(self, kind: str, key: str) -> str:
        """REUSED, or FETCHED the first time an entry this process pulled is used."""
        if (kind, key) in self._fetched:
            self._fetched.discard((kind, key))
            return FETCHED
        return REUSED

    def _build_and_publish(self, kind: str, key: str, build: Callable[[Path], dict | None],
                           label: str) -> Entry:
        folder = self._scratch_entry(kind, key)
        try:
            try:
                meta = build(folder) or {}
            except BaseException:
                reason = self._unwritable_reason() if self.persistent else None
                if reason:  # the build died because the store's disk is full or read-only
                    raise _StoreUnwritable(reason) from None
                raise
            return self._place(kind, key, folder, meta, label)
        finally:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    def _scratch_entry(self, kind: str, key: str) -> Path:
        """A new folder in scratch for an entry being written (named with this pid)."""
        try:
            return Path(tempfile.mkdtemp(prefix=f"{kind}-{key[:12]}-{os.getpid()}-",
                                         dir=self.root / LAYOUT / "tmp"))
        except OSError as exc:
            raise _StoreUnwritable(_os_reason(exc)) from None

    def _place(self, kind: str, key: str, folder: Path, meta: dict[str, Any],
               label: str) -> Entry:
        """Seal a finished folder (the manifest lists every file) and rename it into place:
        a reader sees the whole entry or none."""
        try:
            files = {p.name: _file_info(p) for p in sorted(folder.iterdir()) if p.is_file()}
            manifest = seal({"schema": SCHEMA, "kind": kind, "key": key, "label": label,
                             "created": time.time(), "files": files, "meta": meta})
            _write_synced(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
            for path in (folder, *folder.iterdir()):  # whatever the umask: ours alone
                trust.make_private(path)
            final = self._dir(self.root, kind, key)
            final.parent.mkdir(parents=True, exist_ok=True)
            trust.make_private(final.parent)
            if final.exists():  # a corrupt or stale entry: move it aside, then replace it
                trash = Path(tempfile.mkdtemp(prefix=f"trash-{os.getpid()}-",
                                              dir=self.root / LAYOUT / "tmp"))
                os.rename(final, trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            os.rename(folder, final)
        except OSError as exc:
            if exc.errno in _WRITE_ERRNOS or exc.errno == errno.ENOTEMPTY:
                raise _StoreUnwritable(_os_reason(exc)) from None
            raise
        return Entry(kind, key, final, files, meta)

    def _make_room(self, size_hint: int) -> None:
        """Refuse to build where the bytes will not fit, before anything is written."""
        need = size_hint + MARGIN_BYTES
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            return
        if free >= need:
            return
        reason = (f"No space left on device: {human(free)} free in {self.root}, about "
                  f"{human(need)} needed")
        if self.persistent:
            raise _StoreUnwritable(reason)
        raise OSError(errno.ENOSPC, f"{reason}: free space there (or set TMPDIR to a roomier "
                                    "disk) and run again")

    def _unwritable_reason(self) -> str | None:
        """Why the store's disk cannot take a write now (full, read-only), or None if it can."""
        return self._prepare(self.root)

    def has_kind(self, kind: str) -> bool:
        """True if the store, or the team store behind it, holds any entry of this kind (a
        cheap sign of a warm store)."""
        folder = self.root / LAYOUT / "entries" / kind
        if folder.is_dir() and any(folder.iterdir()):
            return True
        return self.remote is not None and self.remote.has_kind(kind)

    def discard(self, kind: str, key: str) -> bool:
        """Remove one entry (unless in use elsewhere): it was found to be wrong, so this
        process builds it again rather than fetch the team store's copy."""
        self._discarded.add((kind, key))
        self._unpin_everywhere(kind, key)
        return self._remove(kind, key)


def _file_info(path: Path) -> dict[str, Any]:
    """What a manifest records of one file: its size, its SHA-256, and whether it is a program
    (the C++ runner), so that a copy fetched from the team store is one too."""
    info: dict[str, Any] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    if path.stat().st_mode & 0o100:
        info["executable"] = True
    return info


class _StoreUnwritable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _os_reason(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    return f"{text}: {exc.filename}" if exc.filename else text






def _write_synced(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())



