"""The decision, exhaustively: every target x every situation the table distinguishes."""

from __future__ import annotations

import pytest

from pytest_inferencecheck import TARGETS, recommend

SERVER_PY = ["server-x86-python", "server-cuda-python", "server-aarch64-python"]
SERVER_CPP = ["server-x86-cpp", "server-cuda-cpp", "server-aarch64-cpp"]

# situation -> keyword arguments
SITUATIONS = {
    "no break": dict(graph_breaks=0),
    "breaks": dict(graph_breaks=2),
    "aoti unsupported": dict(graph_breaks=0, aoti_supported=False),
    "faster backend": dict(graph_breaks=0, fastest_backend="cudagraphs"),
}


def expected(target: str, situation: str) -> tuple[int, str, str | None, str]:
    """(row, technology, backend, reason) as DESIGN.md decides them."""
    if target in ("mobile-ios", "mobile-android"):
        return 1, "executorch", None, f"row 1: mobile deployment ({target}) -> executorch"
    if target == "edge":
        return 2, "executorch", None, "row 2: embedded/edge deployment (edge) -> executorch"
    if target == "mac":
        return 8, "eager", None, "row 8: local development on a Mac (mac) -> eager"
    if target in SERVER_CPP:
        breaks = "2 graph breaks" if situation == "breaks" else "no graph break"
        return 6, "aoti-cpp", None, (f"row 6: server deployment without Python ({target}), "
                                     f"{breaks} -> aoti-cpp")
    if situation == "faster backend":
        return 7, "torch.compile", "cudagraphs", (
            "row 7: server + Python deployment where 'cudagraphs' measured faster than "
            "inductor -> torch.compile")
    if situation == "breaks":
        return 4, "torch.compile", "inductor", (
            "row 4: server + Python deployment with 2 graph breaks -> torch.compile")
    if situation == "aoti unsupported":
        return 5, "torch.compile", "inductor", (
            f"row 5: server + Python deployment where AOTI cannot serve this model ({target}) "
            "-> torch.compile")
    return 3, "aoti-python", None, (
        f"row 3: server + Python deployment ({target}) with no graph break -> aoti-python")


@pytest.mark.parametrize("situation", list(SITUATIONS))
@pytest.mark.parametrize("target", list(TARGETS))
def test_every_target_in_every_situation(target, situation):
    rec = recommend(target, **SITUATIONS[situation])
    assert (rec.row, rec.technology, rec.backend, rec.reason) == expected(target, situation)


def test_every_row_is_reachable():
    rows = {recommend(t, **kw).row for t in TARGETS for kw in SITUATIONS.values()}
    assert rows == set(range(1, 9))


def test_aliases_decide_like_their_target():
    assert recommend("embedded", graph_breaks=0) == recommend("edge", graph_breaks=0)


def test_inductor_as_fastest_backend_is_not_row_7():
    assert recommend("server-x86-python", graph_breaks=0, fastest_backend="inductor").row == 3


def test_one_break_is_singular():
    assert "with 1 graph break ->" in recommend("server-x86-python", graph_breaks=1).reason


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_graph_breaks_must_be_a_count(bad):
    with pytest.raises(ValueError, match="graph_breaks must be a non-negative int"):
        recommend("server-x86-python", graph_breaks=bad)


def test_to_dict_matches_the_report_schema():
    assert recommend("server-x86-python", graph_breaks=3).to_dict() == {
        "row": 4, "technology": "torch.compile", "backend": "inductor",
        "reason": "row 4: server + Python deployment with 3 graph breaks -> torch.compile"}


def test_the_deviation_is_computed_with_the_decision():
    from pytest_inferencecheck.recommendations.decision import deviation

    rec = recommend("server-x86-python", graph_breaks=2)
    assert deviation("aoti-python", rec) == (
        "declared 'aoti-python' but row 4: server + Python deployment with 2 graph breaks -> "
        "torch.compile: deploy with torch.compile or fix what moved the model off aoti-python")
    assert deviation("torch.compile", rec) is None and deviation(None, rec) is None
