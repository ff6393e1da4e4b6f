"""The decision: which row of the table applies to a (target, measured facts) pair."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_inferencecheck.recommendations.table import Target, resolve_target, row


@dataclass(frozen=True)
class Recommendation:
    """The row that applies, its technology, the torch.compile backend, and why."""

    row: int
    technology: str
    backend: str | None
    reason: str

    def to_dict(self) -> dict:
        """Render as the `recommendation` entry of the JSON report."""
        return {"row": self.row, "technology": self.technology, "backend": self.backend,
                "reason": self.reason}


def _breaks(n: int) -> str:
    return f"{n} graph break{'' if n == 1 else 's'}"


def recommend(
    target: str | Target,
    *,
    graph_breaks: int,
    aoti_supported: bool = True,
    fastest_backend: str | None = None,
) -> Recommendation:
    """Return the table's recommendation for a target given the measured facts."""
    t = resolve_target(target)
    if not isinstance(graph_breaks, int) or isinstance(graph_breaks, bool) or graph_breaks < 0:
        raise ValueError(f"graph_breaks must be a non-negative int, got {graph_breaks!r}")

    def rec(number: int, why: str, backend: str | None = None) -> Recommendation:
        tech = row(number).technology
        return Recommendation(number, tech, backend, f"row {number}: {why} -> {tech}")

    if t.on_device:
        return (rec(1, f"mobile deployment ({t.id})") if t.platform == "phone"
                else rec(2, f"embedded/edge deployment ({t.id})"))
    if t.local_mac:
        return rec(8, f"local development on a Mac ({t.id})")
    if not t.python_server:
        # Row 6 has no fallback: a break or an unsupported model is a failure, not another row.
        return rec(6, f"server deployment without Python ({t.id}), "
                      f"{_breaks(graph_breaks) if graph_breaks else 'no graph break'}")
    if fastest_backend and fastest_backend != "inductor":
        # Row 7 is measured, not inferred: it wins over rows 3-5 when the race says so.
        return rec(7, f"server + Python deployment where {fastest_backend!r} measured faster "
                      f"than inductor", fastest_backend)
    if graph_breaks:
        return rec(4, f"server + Python deployment with {_breaks(graph_breaks)}", "inductor")
    if not aoti_supported:
        return rec(5, f"server + Python deployment where AOTI cannot serve this model ({t.id})",
                   "inductor")
    return rec(3, f"server + Python deployment ({t.id}) with no graph break")


def deviation(declared: str | None, rec: Recommendation | None) -> str | None:
    """How a declared technology (`uses=`) departs from the row that applies, or None. The gate
    (`gate.verdict`) judges it: a warning, or a failure under strict."""
    if not declared or rec is None or declared == rec.technology:
        return None
    return (f"declared {declared!r} but {rec.reason}: deploy with {rec.technology} or fix what "
            f"moved the model off {declared}")
