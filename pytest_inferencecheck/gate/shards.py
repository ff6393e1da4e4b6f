"""One model repository on many runners: the K-th of N disjoint parts of a run (`plan`), and one
report made from N shard reports (`merge`).

The unit of a split is a test item's group: one marked test function (all its targets, which
share one export) or one config-declared model; a plain test is a group of its own. Groups are
spread by Longest Processing Time first: heaviest first, each to the least loaded shard, weighed
by the seconds an earlier JSON report recorded (`--inference-check-durations`, as pytest-split
and PyTorch's own CI shard by recorded test times); a group no report timed weighs the median
of those that were, and ties are broken by a stable hash of its name. So a split depends on the
set of groups alone, never on their order or the machine: every process of every shard (xdist
workers included) computes the same one, and every group lands in exactly one shard.

Each shard's JSON report carries its `shard` section: which part it is, every group of the run
and the checks collected (for the baseline's stale entries), and what identifies the run (the
commit, the torch, the settings that decide results). `merge` refuses a set that is not exactly
the N parts of one run, naming the file: a missing, duplicated or foreign shard is never a pass.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.reporters import json_report
from pytest_inferencecheck.result import CheckResult


def group_of_nodeid(nodeid: str) -> str:
    """A result's group from its node id: the test without its parameters."""
    return nodeid.split("[", 1)[0] if nodeid.endswith("]") else nodeid


def durations(path: Path) -> dict[str, float]:
    """Seconds per group recorded by an earlier run's JSON report (a merged one too)."""
    _, results = json_report.read(path)
    out: dict[str, float] = {}
    for r in results:
        if r.nodeid:
            group = group_of_nodeid(r.nodeid)
            out[group] = out.get(group, 0.0) + sum(s.seconds for s in r.stages)
    return out


def _stable(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def split(groups: Iterable[str], seconds: dict[str, float], count: int) -> list[list[str]]:
    """The groups in `count` parts, balanced by `seconds` (see the module docstring)."""
    names = sorted(set(groups))
    known = [seconds[g] for g in names if g in seconds]
    default = statistics.median(known) if known else 1.0
    weight = {g: seconds.get(g, default) for g in names}
    loads = [0.0] * count
    parts: list[list[str]] = [[] for _ in range(count)]
    for g in sorted(names, key=lambda g: (-weight[g], _stable(g))):
        i = min(range(count), key=lambda i: (loads[i], i))
        loads[i] += weight[g]
        parts[i].append(g)
    return [sorted(p) for p in parts]


@dataclass
class Plan:
    """This process's part of a sharded run, and what its report says about the whole run."""

    index: int
    count: int
    groups: list[str]  # this shard's
    all_groups: list[str]  # in collection order: the merged report's order
    deselected: int  # items of the other shards
    collected_tests: list[str] = field(default_factory=list)  # every check's test id
    collected_files: list[str] = field(default_factory=list)
    timed: bool = False  # balanced by recorded durations

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the report's `shard` section without the run's identity)."""
        return dict(vars(self))


def run_identity(root: Path, settings: Any, table: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """What makes shards parts of one run: the commit and the settings that decide results."""
    decisive = {k: getattr(settings, k) for k in ("only", "targets", "strict", "require_device",
                                                   "baseline", "level")}
    decisive["config"] = table or {}
    text = json.dumps(decisive, sort_keys=True, default=str)
    return {"commit": _commit(root), "settings": hashlib.sha256(text.encode()).hexdigest()[:16]}


def _commit(root: Path) -> str | None:
    sha = os.environ.get("GITHUB_SHA")
    if sha:
        return sha
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@dataclass
class Merged:
    """N shard reports made one: the header, every result (in the run's group order), and
    what the baseline needs of the whole run."""

    header: dict[str, Any]
    results: list[CheckResult]
    collected_tests: set[str]
    collected_files: set[str]
    interrupted: bool


def merge(paths: Sequence[str | os.PathLike]) -> Merged:
    """Read and check N shard reports; a usage error naming the file when they are not exactly
    the N parts of one run (a missing, duplicated, foreign or unsharded report)."""
    if not paths:
        raise InferenceCheckError("report merge: give the shard reports (shard-*.json)")
    shards: dict[int, tuple[str, dict, list[CheckResult]]] = {}
    first: tuple[str, dict] | None = None
    for path in map(str, paths):
        header, results = json_report.read(path)
        shard = header.get("shard")
        if not isinstance(shard, dict) or not isinstance(shard.get("index"), int):
            raise InferenceCheckError(f"{path} is not a shard report (it has no shard section): "
                                      "write shards with --inference-check-shard=K/N")
        if first is None:
            first = (path, header)
        _same_run(path, header, *first)
        k = shard["index"]
        if k in shards:
            raise InferenceCheckError(f"shard {k}/{shard['count']} is given twice: "
                                      f"{shards[k][0]} and {path}")
        shards[k] = (path, header, results)
    assert first is not None
    count = first[1]["shard"]["count"]
    missing = [k for k in range(1, count + 1) if k not in shards]
    if missing:
        given = ", ".join(f"{p} ({k}/{count})" for k, (p, _, _) in sorted(shards.items()))
        raise InferenceCheckError(f"shard {', '.join(f'{k}/{count}' for k in missing)} "
                                  f"{'is' if len(missing) == 1 else 'are'} missing (given: "
                                  f"{given}): every shard's report is needed for one verdict")
    order = {g: i for i, g in enumerate(first[1]["shard"]["all_groups"])}
    results = [r for k in sorted(shards) for r in shards[k][2]]
    results.sort(key=lambda r: order.get(group_of_nodeid(r.nodeid or ""), len(order)))
    seconds = [float(shards[k][1]["shard"].get("seconds") or 0.0) for k in sorted(shards)]
    header = {k: v for k, v in first[1].items() if k not in ("results", "shard")}
    header["sharded"] = {"count": count, "seconds": seconds, "slowest_seconds": max(seconds)}
    header["interrupted"] = any(bool(h.get("interrupted")) for _, h, _ in shards.values())
    base = first[1]["shard"]
    return Merged(header, results, set(base.get("collected_tests") or []),
                  set(base.get("collected_files") or []), header["interrupted"])


def _same_run(path: str, header: dict, first_path: str, first: dict) -> None:
    """`path` must be a part of the run `first_path` is a part of."""
    mine, theirs = header["shard"], first["shard"]
    checks = (("count", mine.get("count"), theirs.get("count"), "another shard count"),
              ("commit", (mine.get("run") or {}).get("commit"),
               (theirs.get("run") or {}).get("commit"), "another commit"),
              ("torch", header.get("torch"), first.get("torch"), "another torch"),
              ("settings", (mine.get("run") or {}).get("settings"),
               (theirs.get("run") or {}).get("settings"), "another configuration"),
              ("groups", mine.get("all_groups"), theirs.get("all_groups"),
               "another set of tests"))
    for what, a, b, words in checks:
        if a != b:
            shown = (f"{a} vs {b}" if what != "groups" else
                     f"{len(a or [])} vs {len(b or [])} groups")
            raise InferenceCheckError(f"{path} is a shard of {words} than {first_path} "
                                      f"({what}: {shown}): merge the shards of one run")
