"""Results survive the trip to the xdist controller: from_dict(to_dict(r)) renders the same."""

from __future__ import annotations

import json

import pytest

from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import from_dict


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnn/server-x86-python", "breaks/server-x86-cpp",
                                  "gpt2/server-x86-python", "breaks/server-x86-python"])
def test_round_trip(checked, name):
    r = checked(name)
    d = json.loads(json.dumps(r.to_dict()))
    back = from_dict(d)
    assert back.to_dict() == d

    def untimed(text: str) -> list[str]:  # seconds are rounded to 4 places in the report
        return [line for line in text.splitlines() if not line.startswith("  stages:")]

    assert untimed(explain(back)) == untimed(explain(r))
    assert [(s.name, s.status) for s in back.stages] == [(s.name, s.status) for s in r.stages]
