"""JUnit XML: one suite per target, one case per check; failures carry the explanation.

Valid against Jenkins' junit-10.xsd: per-case facts (row, technology, breaks, error, proxy,
deviation) lead the case's `system-out`, since the schema has no properties on a case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pytest_inferencecheck.reporters.base import FileReport
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import CheckResult
from pytest_inferencecheck.support import junit_xml as junit_doc


def properties(r: CheckResult) -> dict[str, str]:
    """The facts a CI dashboard wants per case."""
    rec = r.recommendation
    return {
        "level": r.level,
        "target": r.target,
        "row": str(rec.row) if rec else "",
        "technology": rec.technology if rec else "",
        "graph_breaks": "" if r.graph_breaks is None else str(len(r.graph_breaks)),
        "graph_breaks_explain": "" if r.graph_breaks is None else str(r.break_count),
        "max_abs_err": "" if r.numerics is None else f"{r.numerics.max_abs_err:.3g}",
        "proxy": r.proxy or "",
        "deviation": r.deviation or "",
        "outcome": r.outcome + (" (xfail)" if r.expected_failure else ""),
    }


def case_of(r: CheckResult) -> junit_doc.Case:
    """One check as a test case."""
    facts = "\n".join(f"{k}: {v}" for k, v in properties(r).items() if v)
    name = (r.nodeid or r.model) + (" [quick]" if r.level == "quick" else "")
    case = junit_doc.Case(name, f"inferencecheck.{r.target}",
                          sum(s.seconds for s in r.stages), out=f"{facts}\n\n{explain(r)}")
    if r.outcome == "failed" and not r.expected_failure:
        f = r.failures[0]
        row = r.recommendation.row if r.recommendation else "?"
        where = f" ({f.file}:{f.line})" if f.file and f.line else ""
        case.failures.append((f"row {row}, stage {f.stage}: {f.message.splitlines()[0]}{where}",
                              explain(r)))
    elif r.outcome == "skipped" or r.expected_failure:
        case.skipped = r.skip_reason or "expected failure (xfail)"
    return case


def render(results: Sequence[CheckResult], *, interrupted: bool = False,
           header: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> str:
    """The JUnit XML document."""
    by_target: dict[str, list[CheckResult]] = defaultdict(list)
    for r in results:
        by_target[r.target].append(r)
    suites = [junit_doc.Suite(f"inferencecheck[{target}]", [case_of(r) for r in group],
                              {"target": target, **({"interrupted": "true"} if interrupted
                                                     else {})})
              for target, group in sorted(by_target.items())]
    if interrupted and not suites:
        suites.append(junit_doc.Suite("inferencecheck", [], {"interrupted": "true"}))
    return junit_doc.render(suites, name="pytest-inferencecheck")


REPORT = FileReport("JUnit report", "junit", render, progress=True)
write = REPORT.write
