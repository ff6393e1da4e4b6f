"""pytest's node ids, read: a check item's id is its test's id with the target among its
parameters (`tests/test_m.py::test_bert[server-x86-cpp]`, or `[server-x86-cpp-small]` beside
another parametrization). Targets themselves hold `-`, so they are found whole."""

from __future__ import annotations

from collections.abc import Iterable


def _params(nodeid: str) -> tuple[str, str] | None:
    """`path::test_x[a-b]` -> (`path::test_x`, `a-b`); None without parameters."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    name, _, ids = nodeid[:-1].partition("[")
    return name, ids


def _has(ids: str, target: str) -> bool:
    """Whether `target` is one of the `-`-joined parameter ids (targets hold `-` themselves)."""
    return f"-{target}-" in f"-{ids}-"


def without_target(nodeid: str, target: str) -> str:
    """`test_x[server-x86-python-small]` -> `test_x[small]`; `test_x[mac]` -> `test_x`."""
    split = _params(nodeid)
    if split is None or not _has(split[1], target):
        return nodeid
    name, ids = split
    rest = f"-{ids}-".replace(f"-{target}-", "-", 1)[1:-1]
    return f"{name}[{rest}]" if rest else name


def target_in(nodeid: str, targets: Iterable[str]) -> str | None:
    """The deployment target among a node id's parameters (`test_x[server-x86-cpp]`), if any."""

    split = _params(nodeid)
    found = [t for t in targets if split is not None and _has(split[1], t)]
    return max(found, key=len) if found else None
