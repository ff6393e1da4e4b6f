"""How a run is split (issue 34): whole groups, each in exactly one shard, balanced by recorded
durations, the same split whatever the order the groups come in."""

from __future__ import annotations

import random

import pytest

from pytest_inferencecheck.gate import shards

GROUPS = [f"tests/test_m.py::test_model_{i:02d}" for i in range(20)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("timed", [False, True])
def test_every_group_lands_in_exactly_one_shard_whatever_the_order(count, timed):
    seconds = {g: float(1 + (i * 7) % 13) for i, g in enumerate(GROUPS)} if timed else {}
    parts = shards.split(GROUPS, seconds, count)
    assert len(parts) == count
    flat = [g for p in parts for g in p]
    assert sorted(flat) == sorted(GROUPS) and len(flat) == len(set(flat))
    shuffled = GROUPS[:]
    random.Random(count).shuffle(shuffled)
    assert shards.split(shuffled, seconds, count) == parts  # the set decides, not the order
    if not timed:  # a stable hash: as even as counts allow
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_recorded_durations_balance_the_load():
    seconds = {g: 1.0 for g in GROUPS}
    seconds[GROUPS[0]] = 19.0  # one model as slow as all the others together
    parts = shards.split(GROUPS, seconds, 2)
    heavy = next(p for p in parts if GROUPS[0] in p)
    assert heavy == [GROUPS[0]]  # alone in its shard: 19 s against 19 s
    unknown = shards.split([*GROUPS, "tests/test_new.py::test_new"], seconds, 2)
    assert sum(map(len, unknown)) == 21  # a group no report timed weighs the median


def test_a_results_group_is_its_test_without_parameters():
    assert shards.group_of_nodeid("t.py::test_x[server-x86-cpp]") == "t.py::test_x"
    assert shards.group_of_nodeid("t.py::test_x") == "t.py::test_x"
