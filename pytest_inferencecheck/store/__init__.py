"""The artifact store: content-addressed entries (`artifacts`), what keys them (`keys`), and
the file locks that let processes share them (`locks`)."""

from __future__ import annotations

from pathlib import Path

from pytest_inferencecheck.store.artifacts import DEFAULT_MAX_BYTES, ArtifactStore, default_root

_OPEN: dict[tuple[str, bool, int], ArtifactStore] = {}


def open_store(where: str | Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
               persistent: bool = True, shared: bool = True) -> ArtifactStore:
    """The one way a run opens its store: the pytest plugin and `inferencecheck run` (from their
    settings, once per run) and `check()`.

    None: `$INFERENCECHECK_CACHE_DIR`, else the user cache dir. A path: that directory.
    `persistent=False`: a temporary store (nothing is kept). `shared`: one store per location,
    size limit and persistence in this process, so that separate `check()` calls share one (and
    its locks and pins); a run opens its own (`shared=False`), checked afresh for this run.
    """
    root = Path(where).expanduser() if where is not None else default_root()
    if not shared:
        return ArtifactStore(root, max_bytes=max_bytes, persistent=persistent)
    key = (str(root), persistent, max_bytes)
    if key not in _OPEN:
        _OPEN[key] = ArtifactStore(root, max_bytes=max_bytes, persistent=persistent)
    return _OPEN[key]
