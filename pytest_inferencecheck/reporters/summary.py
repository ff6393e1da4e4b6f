"""The end-of-run terminal summary of the results (pure)."""

from __future__ import annotations

from collections import defaultdict

from pytest_inferencecheck.result import FETCHED, USE_STATUSES, CheckResult
from pytest_inferencecheck.support.sizes import human
from pytest_inferencecheck.support.wording import clip, plural

TEAM_NOTE = "the team store"  # how a note about the remote tier begins (`store.artifacts`)

COLUMNS = ("model", "target", "row", "technology", "breaks", "export", "parity", "time", "outcome")


def _parity(r: CheckResult) -> str:
    n = r.numerics
    if n is None:
        return "-"
    text = f"{n.max_abs_err:.1e}"
    return text if n.ok else f"{text} MISMATCH"


def breaks_cell(r: CheckResult) -> str:
    """The distinct break sites, with torch's explain count when it differs: `1 (explain 3)`."""
    if r.graph_breaks is None:
        return "-"
    sites = len(r.graph_breaks)
    return str(sites) if r.break_count == sites else f"{sites} (explain {r.break_count})"


def row_of(r: CheckResult) -> tuple[str, ...]:
    """One summary row for a result."""
    rec = r.recommendation
    export = r.export
    seconds = sum(s.seconds for s in r.stages)
    target = r.target + (" (proxy)" if r.proxy else "")
    tech = rec.technology if rec else "-"
    if rec and rec.row == 7 and rec.backend:
        tech += f" [{rec.backend}]"
    return (r.model, target, str(rec.row) if rec else "-", tech,
            breaks_cell(r),
            "-" if export is None else ("ok" if export.ok else plural(len(export.issues), "issue")),
            _parity(r), f"{seconds:.1f}s",
            r.outcome + (" (xfail)" if r.expected_failure else "")
            + (" (deviation)" if r.deviation else "") + (" (quick)" if r.level == "quick" else ""))


def render(results: list[CheckResult]) -> list[str]:
    """Lines of the summary: the table, the deviations, graph breaks grouped by user location."""
    rows = [COLUMNS] + [row_of(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if any(r.graph_breaks is not None and r.break_count != len(r.graph_breaks) for r in results):
        lines += ["", "breaks: distinct break sites; `(explain N)`: the breaks as "
                      "torch._dynamo.explain counts them (graphs compiled - 1), when that differs"]
    deviations = [r for r in results if r.deviation]
    if deviations:
        lines += ["", "deviations from the table:"]
        lines += [f"  {r.nodeid or r.model}: {r.deviation}" for r in deviations]
    moved = [r for r in results if r.fallback and r.recommendation and r.recommendation.row == 5]
    if moved:
        lines += ["", "row 5 (torch.compile, because AOTInductor cannot serve the model), and what "
                      "would put it on row 3:"]
        for r in moved:
            fb = r.fallback
            at = f" at {fb.where}" if fb.where else ""
            lines.append(f"  {r.model}@{r.target}: {fb.stage} failed{at}: {clip(fb.error, 90)}")
            lines.append(f"      -> {fb.hint or 'AOTInductor must serve it first'}")
    by_location: dict[tuple, list[str]] = defaultdict(list)
    details = {}
    for r in results:
        for b in r.graph_breaks or []:
            key = (b.file or "", b.line or 0, b.type)
            by_location[key].append(f"{r.model}@{r.target}")
            details[key] = b
    if by_location:
        lines += ["", "graph breaks by location:"]
        for key in sorted(by_location):
            b = details[key]
            where = b.where if b.file else (b.library_frame or "<unknown location>")
            seen = ", ".join(dict.fromkeys(by_location[key]))
            lines.append(f"  {where}  [{b.type}] {clip(b.reason, 90)}")
            lines.append(f"      -> {b.hint}  ({seen})")
    return lines


def store_line(results: list[CheckResult], root: str | None) -> str:
    """How many store entries the run reused and built, and where the store is."""
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        for use in r.artifacts:
            counts[use.status] += 1
    parts = [f"{counts[s]} {s}" for s in USE_STATUSES if counts[s] and s != FETCHED]
    where = f"in {root}" if root else "in a temporary store (nothing kept)"
    return f"artifact store: {', '.join(parts) or 'nothing stored'} {where}"


def team_traffic(results: list[CheckResult]) -> dict[str, int]:
    """What the run moved to and from the team store: entries and bytes each way."""
    uses = [u for r in results for u in r.artifacts]
    fetched = [u for u in uses if u.status == FETCHED]
    published = [u for u in uses if u.published is not None]
    return {"fetched": len(fetched), "fetched_bytes": sum(u.bytes for u in fetched),
            "published": len(published),
            "published_bytes": sum(u.published or 0 for u in published)}


def team_lines(results: list[CheckResult], remote: str | None) -> list[str]:
    """The team store's line (entries and bytes each way) and its notes, once each."""
    if not remote:
        return []
    t = team_traffic(results)
    lines = [f"team store {remote}: {plural(t['fetched'], 'entry', 'entries')} fetched "
             f"({human(t['fetched_bytes'])} down), {t['published']} published "
             f"({human(t['published_bytes'])} up)"]
    notes = dict.fromkeys(n for r in results for n in r.notes if n.startswith(TEAM_NOTE))
    lines += [f"  note: {n}" for n in notes]
    return lines
