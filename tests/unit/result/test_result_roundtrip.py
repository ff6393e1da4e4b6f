"""Results survive the trip to the xdist controller: from_dict(to_dict(r)) renders the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from every_field import every_field

from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import Latency, RaceEntry, Stage, from_dict
from pytest_inferencecheck.support.records import to_data


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnn/server-x86-python", "breaks/server-x86-cpp",
                                  "gpt2/server-x86-python", "breaks/server-x86-python"])
def test_round_trip(checked, name):
    r = checked(name)
    d = json.loads(json.dumps(r.to_dict()))
    back = from_dict(d)
    assert back.to_dict() == d

    assert explain(back) == explain(r)
    assert [(s.name, s.status) for s in back.stages] == [(s.name, s.status) for s in r.stages]


def test_measurements_are_rounded_once_so_every_reporter_agrees():
    # 0.017496 rounded for the report (0.0175) and then for the terminal reads "0.018", while the
    # unrounded value reads "0.017": the result must hold the one value both are rendered from.
    lat = Latency(eager_ms=0.017496, artifact_ms=0.0564999)
    back = Latency(**json.loads(json.dumps(to_data(lat))))
    assert back == lat
    assert f"{back.eager_ms:.3f}" == f"{lat.eager_ms:.3f}"
    entry = RaceEntry("inductor", True, samples_ms=(0.017496, 0.0175, 0.01751, 0.0176))
    d = json.loads(json.dumps(to_data(entry)))
    back = from_dict({"model": "m", "target": "server-x86-python", "race": [d]}).race[0]
    assert back == entry and back.timing == entry.timing
    assert f"{back.median_ms:.3f}" == f"{entry.median_ms:.3f}"
    assert to_data(Stage("compile", "passed", 1.23456789))["seconds"] == 1.2346


def test_every_field_of_every_result_type_is_written_as_before_and_read_back():
    """Issue 32: the dict form is derived from the fields in one place (`support.records`).
    `every_field.json` was written by the hand-written `to_dict`s it replaced: the report is
    byte for byte what it was, and reading it back loses nothing."""
    golden = (Path(__file__).parent / "every_field.json").read_text()
    results = every_field()
    assert json.dumps([r.to_dict() for r in results], indent=1) + "\n" == golden
    back = [from_dict(d) for d in json.loads(golden)]
    assert back == results
    assert [explain(r) for r in back] == [explain(r) for r in results]
