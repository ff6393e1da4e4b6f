"""JUnit XML: one suite per target, one case per model; failures carry the explanation."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..result import CheckResult
from .text import explain


def properties(r: CheckResult) -> dict[str, str]:
    """The facts a CI dashboard wants per case."""
    rec = r.recommendation
    return {
        "target": r.target,
        "row": str(rec.row) if rec else "",
        "technology": rec.technology if rec else "",
        "graph_breaks": "" if r.graph_breaks is None else str(len(r.graph_breaks)),
        "max_abs_err": "" if r.numerics is None else repr(r.numerics.max_abs_err),
        "proxy": r.proxy or "",
        "deviation": r.deviation or "",
    }


def render(results: list[CheckResult]) -> str:
    """The JUnit XML document."""
    by_target: dict[str, list[CheckResult]] = defaultdict(list)
    for r in results:
        by_target[r.target].append(r)
    suites = []
    for target in sorted(by_target):
        cases = []
        for r in by_target[target]:
            case = TestCase(r.model, classname=f"inferencecheck.{target}",
                            elapsed_sec=sum(s.seconds for s in r.stages), stdout=explain(r),
                            file=r.failures[0].file if r.failures else None,
                            line=r.failures[0].line if r.failures else None)
            if r.outcome == "failed" and not r.expected_failure:
                f = r.failures[0]
                case.add_failure_info(message=f"row {r.recommendation.row if r.recommendation else '?'}"
                                              f", stage {f.stage}: {f.message.splitlines()[0]}",
                                      output=explain(r))
            elif r.outcome == "skipped" or r.expected_failure:
                case.add_skipped_info(message=r.skip_reason or "expected failure (xfail)")
            cases.append(case)
        suites.append(TestSuite(f"inferencecheck[{target}]", cases))
    root = ET.fromstring(to_xml_report_string(suites, encoding="utf-8"))
    for suite, (target, group) in zip(root.iter("testsuite"), sorted(by_target.items())):
        for case_el, r in zip(suite.iter("testcase"), group):
            props = ET.Element("properties")
            for name, value in properties(r).items():
                ET.SubElement(props, "property", name=name, value=value)
            case_el.insert(0, props)
    return ET.tostring(root, encoding="unicode")


def write(path: str | os.PathLike, results: list[CheckResult]) -> Path:
    """Write the JUnit file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + render(results) + "\n")
    return target
