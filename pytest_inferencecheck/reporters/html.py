"""One self-contained HTML page per run: the matrix of models x targets, then a card per check.

Rendered with Jinja2 (autoescaped: a model or test named `<script>` shows as text) from the
template beside this module; inline CSS and SVG, a few lines of JavaScript, nothing fetched.
The page is built from `CheckResult`s alone, plus the user's source lines around each graph
break when the files are still there (a page made later from a JSON report shows none).
Deep links: `#<check>/<target>` opens a card, as annotations and the step summary point.
"""

from __future__ import annotations

import linecache
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from typing import TYPE_CHECKING, Any

from pytest_inferencecheck.reporters import json_report
from pytest_inferencecheck.reporters.base import FileReport
from pytest_inferencecheck.reporters.summary import breaks_cell, team_traffic
from pytest_inferencecheck.result import (
    FAILED,
    FETCHED,
    PASSED,
    SKIPPED,
    USE_STATUSES,
    CheckResult,
)
from pytest_inferencecheck.support.locations import display_path
from pytest_inferencecheck.support.sizes import human

if TYPE_CHECKING:
    import jinja2

CONTEXT_LINES = 3  # source lines shown above and below a graph break
TEMPLATE = "report.html.j2"
# The words a cell says beside its colour (never colour alone).
WORDS = {PASSED: "passed", FAILED: "failed", SKIPPED: "skipped"}
# Stages whose artifact a store entry records, to mark them built or reused on the timeline.
STAGE_KINDS = {"aoti_compile": "aoti", "lower": "executorch", "to_executorch": "executorch",
               "runner_build": "runner", "run": "run"}


def anchor(check: str, target: str) -> str:
    """The card's id and deep link: `<check>/<target>`, the check slugged to URL-safe text."""
    slug = re.sub(r"[^A-Za-z0-9_.:\[\]-]+", "-", check).strip("-") or "check"
    return f"{slug}/{target}"


def check_name(r: CheckResult) -> str:
    """What names a check across targets: the test id without its target, else the model."""
    return r.test or r.identity or r.model


@dataclass
class Cell:
    """One (check, target) in the matrix."""

    outcome: str
    word: str
    row: int | None
    href: str
    label: str


@dataclass
class MatrixRow:
    name: str
    cells: list[Cell | None]


@dataclass
class Card:
    """A check's story, ready for the template."""

    id: str
    title: str
    r: CheckResult
    word: str
    timeline: list[dict[str, Any]] = field(default_factory=list)
    breaks: list[dict[str, Any]] = field(default_factory=list)
    latency: dict[str, Any] | None = None
    delegation: dict[str, Any] | None = None
    baseline: list[dict[str, Any]] = field(default_factory=list)


def _word(r: CheckResult) -> str:
    word = WORDS.get(r.outcome, r.outcome)
    if r.expected_failure:
        word += " (xfail)"
    if r.level == "quick":
        word += " (quick)"
    return word


def _snippet(file: str | None, line: int | None) -> list[dict[str, Any]]:
    """The user's source around a line, as the file reads now; [] when it cannot be read."""
    if not file or not line or not os.path.isfile(file):
        return []
    linecache.checkcache(file)
    lines = linecache.getlines(file)
    if not 0 < line <= len(lines):
        return []
    first, last = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
    return [{"no": n, "text": lines[n - 1].rstrip("\n"), "hit": n == line}
            for n in range(first, last + 1)]


def _timeline(r: CheckResult) -> list[dict[str, Any]]:
    """Each stage with its share of the check's time and, where a store entry backs it, whether
    the entry was built or reused."""
    total = sum(s.seconds for s in r.stages) or 1.0
    uses: dict[str, str] = {}
    for use in r.artifacts:
        uses.setdefault(use.kind, use.status)
    out = []
    for s in r.stages:
        kind = STAGE_KINDS.get(s.name)
        out.append({"name": s.name, "status": s.status, "seconds": s.seconds,
                    "detail": s.detail, "share": max(0.5, 100.0 * s.seconds / total),
                    "store": uses.get(kind) if kind else None})
    return out


def _latency(r: CheckResult) -> dict[str, Any] | None:
    """Bars for eager and the artifact (and every raced backend), scaled to the slowest."""
    bars: list[tuple[str, float]] = []
    if r.latency and r.latency.eager_ms is not None:
        bars.append(("eager", r.latency.eager_ms))
    if r.latency and r.latency.artifact_ms is not None:
        tech = r.recommendation.technology if r.recommendation else "artifact"
        bars.append((tech, r.latency.artifact_ms))
    for e in r.race or []:
        if e.ok and e.median_ms is not None:
            bars.append((f"torch.compile [{e.backend}]", e.median_ms))
    if not bars:
        return None
    top = max(ms for _, ms in bars) or 1.0
    rows = [{"label": label, "ms": ms, "width": max(1.0, 100.0 * ms / top), "y": 8 + i * 26}
            for i, (label, ms) in enumerate(bars)]
    speedup = None
    if r.latency and r.latency.eager_ms and r.latency.artifact_ms:
        speedup = r.latency.eager_ms / r.latency.artifact_ms
    return {"rows": rows, "height": 16 + 26 * len(rows), "speedup": speedup,
            "noise": r.latency.noise if r.latency else None}


def _delegation(r: CheckResult) -> dict[str, Any] | None:
    et = r.executorch or {}
    if "delegated_nodes" not in et:
        return None if not et else {"facts": et}
    total = et["delegated_nodes"] + et["non_delegated_nodes"]
    return {"facts": et, "total": total, "share": 100.0 * et.get("delegation", 0.0),
            "left_out": sorted(et.get("ops_not_delegated", {}).items(), key=lambda kv: -kv[1])}


def _card(r: CheckResult, card_id: str) -> Card:
    card = Card(id=card_id, title=f"{check_name(r)} on {r.target}", r=r, word=_word(r))
    card.timeline = _timeline(r)
    for b in r.graph_breaks or []:
        card.breaks.append({"b": b, "where": b.where, "source": _snippet(b.file, b.line)})
    card.latency = _latency(r)
    card.delegation = _delegation(r)
    card.baseline = [{"failed": True, "message": f.message, "hint": f.hint}
                     for f in r.failures if f.stage == "baseline"]
    card.baseline += [{"failed": False, "message": n, "hint": ""}
                      for n in r.notes if n.startswith("the baseline")]
    return card


def _facts(results: list[CheckResult], interrupted: bool, header: dict[str, Any] | None,
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's facts: from the JSON report the page is made from, else from this process."""
    report = header or json_report.build([], interrupted=interrupted)
    sharded = (extra or {}).get("sharded") or report.get("sharded")
    interrupted = bool(report.get("interrupted", interrupted))
    uses = Counter(use.status for r in results for use in r.artifacts)
    levels = sorted({r.level for r in results}) or ["full"]
    return {"torch": report.get("torch") or "unknown", "executorch": report.get("executorch"),
            "host": report.get("host") or {"machine": "unknown", "cuda": False},
            "interrupted": interrupted, "levels": levels,
            "store": {s: uses[s] for s in USE_STATUSES if uses[s] and s != FETCHED},
            "team": team_traffic(results) if uses[FETCHED] or any(
                u.published is not None for r in results for u in r.artifacts) else None,
            "sharded": sharded if isinstance(sharded, dict) else None,
            "version": _own_version()}


def _own_version() -> str:
    try:
        return metadata.version("pytest-inferencecheck")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree on sys.path
        return "unknown"


def _template() -> jinja2.Template:
    # `inferencecheck lint` imports this module through the CLI and runs on the standard
    # library alone (the reusable workflow installs it --no-deps): the engine only when rendering
    import jinja2  # noqa: PLC0415 - defers Jinja2, as torch is deferred

    source = resources.files(__package__).joinpath("templates", TEMPLATE).read_text("utf-8")
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["path"] = display_path
    env.filters["ms"] = lambda v: "-" if v is None else f"{v:.3f} ms"
    env.filters["sec"] = lambda v: f"{v:.2f} s"
    env.filters["size"] = _size
    return env.from_string(source)


def _size(n: int | None) -> str:
    return human(n) if n else "-"


def render(results: Sequence[CheckResult], *, interrupted: bool = False,
           header: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> str:
    """The whole page as text; `header`: the run's facts from a JSON report read back (torch,
    host, interrupted), where the page is made later than the run; `extra`: a merged run's
    shards."""
    targets = list(dict.fromkeys(r.target for r in results))
    names = list(dict.fromkeys(check_name(r) for r in results))
    by_key: dict[tuple[str, str], CheckResult] = {}
    cards: list[Card] = []
    seen: set[str] = set()
    for r in results:
        base = anchor(check_name(r), r.target)
        card_id, n = base, 2
        while card_id in seen:  # the same check twice on one target (config and marker)
            card_id, n = f"{base}-{n}", n + 1
        seen.add(card_id)
        cards.append(_card(r, card_id))
        by_key.setdefault((check_name(r), r.target), r)
    ids = {id(c.r): c.id for c in cards}
    rows = []
    for name in names:
        cells: list[Cell | None] = []
        for t in targets:
            r = by_key.get((name, t))
            if r is None:
                cells.append(None)
                continue
            rec = r.recommendation
            word = _word(r)
            cells.append(Cell(r.outcome, word, rec.row if rec else None, "#" + ids[id(r)],
                              f"{name} on {t}: {word}" + (f", row {rec.row}" if rec else "")
                              + (" (AOTInductor cannot serve it; the card says what would put "
                                 "it on row 3)" if r.fallback else "")))
        rows.append(MatrixRow(name, cells))
    totals = Counter("xfailed" if r.outcome == FAILED and r.expected_failure else r.outcome
                     for r in results)
    return _template().render(
        targets=targets, rows=rows, cards=cards, totals=totals, count=len(results),
        facts=_facts(results, interrupted, header, extra), breaks_cell=breaks_cell,
        deviations=sum(1 for r in results if r.deviation))


REPORT = FileReport("HTML report", "html", render)
write = REPORT.write
