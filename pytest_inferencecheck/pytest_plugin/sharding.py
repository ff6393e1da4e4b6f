"""`--inference-check-shard=K/N` in pytest: which collected items this process runs, and what
its report says about the whole run (`gate.shards` plans and merges; this applies it).

Every process of a shard computes the same plan from the same items (the split depends on the
set of groups alone); under pytest-xdist the workers collect, so a worker hands the plan to the
controller in `workeroutput`, where the session writes it into the JSON report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from pytest_inferencecheck.config.settings import Settings
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.gate import shards
from pytest_inferencecheck.pytest_plugin.item_check import group_of
from pytest_inferencecheck.support.nodeids import without_target

PLAN = pytest.StashKey[dict]()
TABLE = pytest.StashKey[dict]()  # [tool.inferencecheck] as the run read it (part of its identity)
STARTED = pytest.StashKey[float]()
WORKER_KEY = "inferencecheck_shard"


def select(config: pytest.Config, items: list[pytest.Item], s: Settings,
           target_of: Callable[[pytest.Item], str | None]
           ) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(this shard's items, the other shards') under `s.shard`; the plan kept for the report."""
    assert s.shard is not None
    index, count = s.shard
    seconds: dict[str, float] = {}
    if s.durations:
        try:
            seconds = shards.durations(config.rootpath / s.durations)
        except InferenceCheckError as exc:
            raise pytest.UsageError(f"pytest-inferencecheck: --inference-check-durations: "
                                    f"{exc}") from None
    groups = {id(item): group_of(item) for item in items}
    parts = shards.split(groups.values(), seconds, count)
    mine = set(parts[index - 1])
    keep = [item for item in items if groups[id(item)] in mine]
    drop = [item for item in items if groups[id(item)] not in mine]
    tests = sorted({without_target(item.nodeid, t) for item in items
                    if (t := target_of(item)) is not None})
    files = sorted({item.nodeid.split("::", 1)[0] for item in items if target_of(item)})
    ordered = list(dict.fromkeys(groups[id(item)] for item in items))  # collection order
    plan = shards.Plan(index, count, parts[index - 1], ordered, len(drop),
                       tests, files, timed=bool(seconds)).to_dict()
    plan["run"] = shards.run_identity(config.rootpath, s, config.stash.get(TABLE, {}))
    config.stash[PLAN] = plan
    if hasattr(config, "workeroutput"):
        config.workeroutput[WORKER_KEY] = json.dumps(plan)
    return keep, drop


def from_worker(config: pytest.Config, workeroutput: dict) -> None:
    """The controller takes a worker's plan (every worker computes the same one)."""
    text = workeroutput.get(WORKER_KEY)
    if text and PLAN not in config.stash:
        config.stash[PLAN] = json.loads(text)


def header(config: pytest.Config) -> dict | None:
    """The report's `shard` section, with this shard's wall time; None when not sharded."""
    plan = config.stash.get(PLAN, None)
    if plan is None:
        return None
    started = config.stash.get(STARTED, None)
    return {**plan, "seconds": round(time.monotonic() - started, 3) if started else None}
