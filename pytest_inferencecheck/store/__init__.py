"""The artifact store: content-addressed entries (`artifacts`), what keys them (`keys`), the
file locks that let processes share them (`locks`), whose bytes may be read (`trust`), and the
team store behind it (`remote`, its entries signed by trusted writers: `signing`)."""

from __future__ import annotations

from pathlib import Path

from pytest_inferencecheck.store.artifacts import DEFAULT_MAX_BYTES, ArtifactStore, default_root
from pytest_inferencecheck.store.remote import RemoteSpec, open_remote

_OPEN: dict[tuple[str, bool, int], ArtifactStore] = {}


def open_store(where: str | Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
               persistent: bool = True, shared: bool = True,
               remote: RemoteSpec | None = None) -> ArtifactStore:
    """The one way a run opens its store: the pytest plugin and `inferencecheck run` (from their
    settings, once per run) and `check()`.

    None: `$INFERENCECHECK_CACHE_DIR`, else the user cache dir. A path: that directory.
    `persistent=False`: a temporary store (nothing is kept). `shared`: one store per location,
    size limit and persistence in this process, so that separate `check()` calls share one (and
    its locks and pins); a run opens its own (`shared=False`), checked afresh for this run.
    `remote`: the team store behind it (a run's own store only); a usage error when it cannot
    be opened (no obstore, a bad URL or key), never a silent local-only run.
    """
    root = Path(where).expanduser() if where is not None else default_root()
    if remote is not None:
        tier = open_remote(remote)
        return ArtifactStore(root, max_bytes=max_bytes, persistent=persistent, remote=tier)
    if not shared:
        return ArtifactStore(root, max_bytes=max_bytes, persistent=persistent)
    key = (str(root), persistent, max_bytes)
    if key not in _OPEN:
        _OPEN[key] = ArtifactStore(root, max_bytes=max_bytes, persistent=persistent)
    return _OPEN[key]
