"""The team store: a second tier behind the local store, shared by a fleet of machines.

The local store stays the first tier. A miss there reads through the remote (`fetch`), and what
this machine builds is written back (`publish`) when this run is a trusted writer. A remote is
any object store obstore reaches (`s3://bucket/prefix` for AWS, MinIO, R2 or Ceph, `gs://`,
`az://`, and `file://` for a shared filesystem), in the `[remote]` extra.

Layout under the URL's prefix, both immutable (written create-if-absent, so two writers of one
key never clobber each other and a reader never sees a half-written object):

    v1/blobs/<sha256>                 a file's bytes, addressed by their SHA-256
    v1/entries/<kind>/<key>.json      {"manifest": ..., "signer": "ed25519:...", "signature": ...}

What a reader verifies before a byte of an entry is loaded or run (`fetch`): the envelope is
signed by a key it trusts (`signing`), the manifest names this kind and key and seals itself,
every file name is a plain name, and every blob's bytes hash to its address and to the size and
checksum the signed manifest gives. Anything else is refused with the reason and built locally.

Faults never fail a check and never hang a run: each request has a timeout and at most one
retry, and the first failure (down, slow, 403, 500, a full bucket) turns the remote off for the
rest of this process with one note; the run goes on with the local store alone.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import EntryRefused, InferenceCheckError
from pytest_inferencecheck.store.signing import (
    PublicKey,
    SigningKey,
    load_signing_key,
    load_trusted,
    verify,
)
from pytest_inferencecheck.store.trust import seal
from pytest_inferencecheck.support.remote_url import check_url
from pytest_inferencecheck.support.sizes import human

LAYOUT = "v1"
MAX_MANIFEST_BYTES = 4 * 2**20
DEFAULT_TIMEOUT_S = 30.0
_LOOK_FIRST_BYTES = 1 << 20  # above this, a HEAD before a PUT is cheaper than sending it twice
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_INSTALL = "pip install 'pytest-inferencecheck[remote]'"


@dataclass(frozen=True)
class RemoteSpec:
    """How a run reaches its team store: plain text, so that it can be validated at the door
    and opened by any process of the run."""

    url: str
    write: bool = False
    trusted_keys: tuple[str, ...] = ()
    signing_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str = "the settings"


class _Down(Exception):
    """The remote failed a request (unreachable, slow, refused, full)."""


@dataclass
class Traffic:
    """What this process moved to and from the remote."""

    fetched: int = 0
    fetched_bytes: int = 0
    published: int = 0
    published_bytes: int = 0
    refused: list[str] = field(default_factory=list)


def _obstore() -> Any:
    try:
        import obstore  # noqa: PLC0415 - the optional [remote] extra
    except ImportError:
        raise InferenceCheckError(f"a team store (remote) needs obstore: {_INSTALL}") from None
    return obstore


def _client(url: str, timeout_s: float, *, create: bool = False) -> Any:
    _obstore()
    from obstore.store import from_url  # noqa: PLC0415 - the optional [remote] extra

    scheme = url.split("://", 1)[0].lower()
    if scheme == "file":  # a writer makes the shared folder; a reader writes nothing
        folder = Path(url[len("file://"):])
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise InferenceCheckError(f"{url}: no such folder (a reader never makes one: a "
                                      "writer's first run does; check the path)")
        return from_url(url)
    if scheme == "memory":
        return from_url(url)
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT") or ""
    options: dict[str, Any] = {"timeout": f"{timeout_s:g}s",
                               "connect_timeout": f"{min(timeout_s, 10.0):g}s"}
    if endpoint.startswith("http://"):  # a loopback MinIO or moto, as the user configured it
        options["allow_http"] = True
    retry = {"max_retries": 1, "retry_timeout": datetime.timedelta(seconds=timeout_s),
             "backoff": {"init_backoff": datetime.timedelta(milliseconds=100),
                         "max_backoff": datetime.timedelta(seconds=1), "base": 2}}
    return from_url(url, client_options=options, retry_config=retry)


def open_remote(spec: RemoteSpec) -> RemoteTier:
    """The remote tier `spec` describes, its keys loaded; a usage error when it cannot be."""
    check_url(spec.url, spec.source)
    signer = load_signing_key(spec.signing_key, spec.source) if spec.signing_key else None
    if spec.write and signer is None:
        raise InferenceCheckError(
            f"remote-write from {spec.source} needs a signing key (remote-signing-key, or "
            "INFERENCECHECK_REMOTE_SIGNING_KEY holding the PEM): readers load only entries a "
            "key they trust signed. Make one with `inferencecheck cache keygen`")
    trusted = load_trusted(spec.trusted_keys, spec.source)
    if signer is not None:
        trusted = (*trusted, signer.public)
    if not trusted:
        raise InferenceCheckError(
            f"remote={spec.url!r} from {spec.source} names no trusted key: a reader loads "
            "only entries signed by a key it is given (remote-trusted-keys: the 'ed25519:...' "
            "line of each writer's `inferencecheck cache keygen`)")
    try:
        client = _client(spec.url, spec.timeout_s, create=spec.write)
    except InferenceCheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - obstore's configuration errors, said as usage
        raise InferenceCheckError(f"remote={spec.url!r} from {spec.source} cannot be opened: "
                                  f"{_first_line(exc)}") from None
    return RemoteTier(spec.url, client, trusted, signer if spec.write else None)


def _first_line(exc: BaseException) -> str:
    """The error's first line, without obstore's request preamble (the method, the URL and
    the retry counts): "GenericError: HTTP error: error sending request"."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if " - " in text:
        text = text.rsplit(" - ", 1)[1]
    return f"{type(exc).__name__}: {text.strip()}"[:240]


class RemoteTier:
    """One team store as this process reads (and, for a trusted writer, writes) it."""

    def __init__(self, url: str, client: Any, trusted: tuple[PublicKey, ...],
                 signer: SigningKey | None) -> None:
        self.url, self.client, self.trusted, self.signer = url, client, trusted, signer
        self.down: str | None = None  # why the remote is off for the rest of this process
        self.traffic = Traffic()

    @property
    def writes(self) -> bool:
        """Whether this run publishes what it builds."""
        return self.signer is not None and self.down is None

    @property
    def note(self) -> str | None:
        """The one line a run shows when the remote failed it."""
        if self.down is None:
            return None
        return (f"the team store {self.url} is not used for the rest of this run ({self.down}):"
                " checks go on with the local store, verdicts unchanged")

    # -- requests -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _request(self, what: str) -> Iterator[None]:
        if self.down is not None:
            raise _Down(self.down)
        try:
            yield
        except (_Down, EntryRefused, FileNotFoundError, _Exists):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the remote turns it off
            # the same words in every process of a run, so the summary says it once
            self.down = f"{what} failed: {_first_line(exc)}"
            raise _Down(self.down) from None

    def _get(self, path: str) -> Any:
        obstore = _obstore()
        with self._request("a read"):
            return obstore.get(self.client, path)

    def _put(self, path: str, data: Any) -> None:
        obstore = _obstore()
        from obstore.exceptions import AlreadyExistsError, PreconditionError  # noqa: PLC0415 - the optional [remote] extra

        with self._request("a write"):
            try:
                obstore.put(self.client, path, data, mode="create")
            except (AlreadyExistsError, PreconditionError):
                raise _Exists from None

    def _exists(self, path: str) -> bool:
        obstore = _obstore()
        with self._request("a lookup"):
            try:
                obstore.head(self.client, path)
            except FileNotFoundError:
                return False
            return True

    # -- reading ----------------------------------------------------------------------------------
    def has_kind(self, kind: str) -> bool:
        """Whether the team store holds any entry of this kind (one short listing)."""
        obstore = _obstore()
        try:
            with self._request("a listing"):
                stream = obstore.list(self.client, f"{LAYOUT}/entries/{kind}/", chunk_size=1)
                return bool(next(iter(stream), []))
        except _Down:
            return False

    def fetch(self, kind: str, key: str, folder: Path, max_bytes: int) -> dict[str, Any] | None:
        """Download and verify the entry for (kind, key) into `folder`; its `meta`, or None when
        the remote has none (or is off). `EntryRefused` when it holds one this reader will not load.
        Nothing in `folder` is loaded here: the local store seals it as it seals a build."""
        if self.down is not None:
            return None
        try:
            manifest = self._manifest(kind, key)
            if manifest is None:
                return None
            files = manifest["files"]
            total = sum(int(info["bytes"]) for info in files.values())
            if total > max_bytes:
                raise EntryRefused(f"it is {human(total)}, over the store's size cap")
            for name, info in sorted(files.items()):
                self._blob_into(str(info["sha256"]), int(info["bytes"]), folder / name)
                if info.get("executable"):
                    os.chmod(folder / name, 0o755)
        except _Down:
            return None
        except FileNotFoundError:  # a blob the manifest names is gone (pruned, partial upload)
            raise EntryRefused("a file it lists is missing from the team store (a partial upload "
                          "or a prune)") from None
        self.traffic.fetched += 1
        self.traffic.fetched_bytes += total
        return dict(manifest.get("meta") or {})

    def _manifest(self, kind: str, key: str) -> dict[str, Any] | None:
        path = entry_path(kind, key)
        try:
            with self._request("a read"):
                got = _obstore().get(self.client, path)
                raw = bytes(got.bytes()) if got.meta["size"] <= MAX_MANIFEST_BYTES else b""
        except FileNotFoundError:
            return None
        try:
            envelope = json.loads(raw)
        except ValueError:
            raise EntryRefused("its manifest is not JSON (damaged or not ours)") from None
        try:
            manifest = verify(envelope, self.trusted)
        except ValueError as exc:
            raise EntryRefused(str(exc)) from None
        files = manifest.get("files")
        if (manifest.get("kind"), manifest.get("key")) != (kind, key):
            raise EntryRefused(f"it is signed for {manifest.get('kind')} {manifest.get('key')}, "
                               "not this key (an entry copied to another address)")
        if seal(manifest).get("digest") != manifest.get("digest"):
            raise EntryRefused("its manifest fails its own checksum")
        if not isinstance(files, dict) or not all(
                isinstance(n, str) and _NAME.match(n) and n != "manifest.json"
                and isinstance(i, dict) and _HEX64.match(str(i.get("sha256")))
                and isinstance(i.get("bytes"), int) and i["bytes"] >= 0
                for n, i in files.items()):
            raise EntryRefused("its file list is malformed (a name with a path, or no checksum)")
        return manifest

    def _blob_into(self, digest: str, size: int, path: Path) -> None:
        """Stream one blob into `path`, hashing it on the way. A download that breaks off is the
        remote's fault (it goes off); a write that fails (a full disk) is this machine's, and
        its OSError reaches the store as any failed write does."""
        got = self._get(blob_path(digest))
        h, written = hashlib.sha256(), 0
        with open(path, "wb") as out:
            chunks = iter(got)
            while written <= size:
                with self._request("a download"):
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                data = bytes(chunk)
                written += len(data)
                h.update(data)
                out.write(data)
        if written != size or h.hexdigest() != digest:
            raise EntryRefused(f"the blob at {digest[:12]} does not hash to its address or its "
                               "size (swapped or damaged)")

    # -- writing ----------------------------------------------------------------------------------
    def publish(self, kind: str, key: str, folder: Path, manifest: dict[str, Any]) -> int | None:
        """Upload an entry this run built (its blobs first, then its signed manifest, each
        create-if-absent); the bytes moved (blobs the remote had are not sent again), or None
        when it was not published (another writer had it already, or the remote is off)."""
        if not self.writes or self.signer is None:
            return None
        try:
            moved = 0
            for name, info in sorted(manifest["files"].items()):
                blob = blob_path(str(info["sha256"]))
                # a large blob the remote may have already (the same bytes under another
                # key) is looked up first; a small one is offered create-if-absent at once
                if int(info["bytes"]) > _LOOK_FIRST_BYTES and self._exists(blob):
                    continue
                with contextlib.suppress(_Exists):  # sealed moments ago, by this process
                    self._put(blob, folder / name)
                    moved += int(info["bytes"])
            envelope = self.signer.sign(manifest)
            self._put(entry_path(kind, key), json.dumps(envelope, sort_keys=True).encode())
        except (_Down, _Exists):
            return None
        self.traffic.published += 1
        self.traffic.published_bytes += moved
        return moved


class _Exists(Exception):
    """A create-if-absent write found the object there already."""


def entry_path(kind: str, key: str) -> str:
    """Where the signed manifest of (kind, key) lives under the remote's prefix."""
    return f"{LAYOUT}/entries/{kind}/{key}.json"


def blob_path(digest: str) -> str:
    """Where the bytes with this SHA-256 live under the remote's prefix."""
    return f"{LAYOUT}/blobs/{digest}"


# -- housekeeping (`inferencecheck cache stats|prune --remote`) --------------------------------
BLOB_GRACE_S = 3600.0  # a blob younger than this may belong to an upload whose manifest is next


def open_client(url: str, source: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """A client for housekeeping (no keys: nothing is loaded); a usage error when it cannot be
    made."""
    check_url(url, source)
    try:
        return _client(url, timeout_s)
    except InferenceCheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - obstore's configuration errors, said as usage
        raise InferenceCheckError(f"{url} from {source} cannot be opened: "
                                  f"{_first_line(exc)}") from None


def _listing(client: Any, prefix: str) -> list[dict[str, Any]]:
    obstore = _obstore()
    try:
        return [meta for batch in obstore.list(client, prefix) for meta in batch]
    except Exception as exc:  # noqa: BLE001 - said as what the remote answered
        raise InferenceCheckError(f"listing the team store failed: {_first_line(exc)}") from None


def remote_stats(client: Any) -> dict[str, Any]:
    """Entries per kind, blobs and their bytes, and the oldest and newest entry's time."""
    entries = _listing(client, f"{LAYOUT}/entries/")
    blobs = _listing(client, f"{LAYOUT}/blobs/")
    kinds: dict[str, int] = {}
    for meta in entries:
        kind = meta["path"].split("/")[-2]
        kinds[kind] = kinds.get(kind, 0) + 1
    times = sorted(m["last_modified"].timestamp() for m in entries)
    return {"entries": len(entries), "kinds": kinds, "blobs": len(blobs),
            "bytes": sum(int(m["size"]) for m in blobs),
            "oldest": times[0] if times else None, "newest": times[-1] if times else None}


def remote_prune(client: Any, *, max_age_s: float | None, max_bytes: int | None,
                 now: float | None = None) -> dict[str, int]:
    """Delete entries older than `max_age_s`, then the oldest until the blobs they reference
    fit `max_bytes`, then blobs no entry references (older than an hour: an upload in flight
    writes its blobs before its manifest). Entries are immutable, so age is since publishing."""
    obstore = _obstore()
    now = time.time() if now is None else now
    entries = sorted(_listing(client, f"{LAYOUT}/entries/"),
                     key=lambda m: m["last_modified"].timestamp())
    blobs = {m["path"].rsplit("/", 1)[1]: m for m in _listing(client, f"{LAYOUT}/blobs/")}
    refs: dict[str, set[str]] = {}
    for meta in entries:
        try:
            envelope = json.loads(bytes(obstore.get(client, meta["path"]).bytes()))
            refs[meta["path"]] = {str(i["sha256"]) for i in
                                  envelope["manifest"]["files"].values()}
        except FileNotFoundError:
            continue
        except (ValueError, KeyError, TypeError, AttributeError):
            refs[meta["path"]] = set()  # damaged: nothing can use it, so it goes first
    gone: list[str] = [m["path"] for m in entries if m["path"] in refs and (
        not refs[m["path"]] or (max_age_s is not None
                                and now - m["last_modified"].timestamp() > max_age_s))]
    keep = [m["path"] for m in entries if m["path"] in refs and m["path"] not in gone]

    def referenced(paths: list[str]) -> set[str]:
        return set().union(*(refs[p] for p in paths)) if paths else set()

    if max_bytes is not None:
        while keep and sum(int(blobs[d]["size"]) for d in referenced(keep)
                           if d in blobs) > max_bytes:
            gone.append(keep.pop(0))
    live = referenced(keep)
    dead = [d for d, m in blobs.items() if d not in live
            and now - m["last_modified"].timestamp() > BLOB_GRACE_S]
    try:
        for path in gone:
            obstore.delete(client, path)
        for digest in dead:
            obstore.delete(client, blob_path(digest))
    except Exception as exc:  # noqa: BLE001
        raise InferenceCheckError(f"pruning the team store failed: {_first_line(exc)}") from None
    return {"entries": len(gone), "blobs": len(dead),
            "bytes": sum(int(blobs[d]["size"]) for d in dead)}
