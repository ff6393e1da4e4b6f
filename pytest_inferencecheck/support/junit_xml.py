"""JUnit XML that validates against the Jenkins `junit-10.xsd` (the schema pytest's own
`--junitxml` targets). Standard library only: the plugin and the linter both render with it.

The schema allows properties on a suite, not on a case, and no file or line attribute on a case:
facts that do not fit go to the suite's properties and to each case's `system-out`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Text XML 1.0 can hold: control characters (ANSI colours, NULs) dropped."""
    return _NOT_XML.sub("", text)


def seconds(value: float) -> str:
    """A time as the schema's SUREFIRE_TIME: at most three decimals."""
    return f"{max(value, 0.0):.3f}"


@dataclass
class Case:
    """One `<testcase>`: passed unless it has failures, or skipped."""

    name: str
    classname: str
    time: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (message, text)
    skipped: str | None = None
    out: str = ""


@dataclass
class Suite:
    """One `<testsuite>`."""

    name: str
    cases: list[Case]
    properties: dict[str, str] = field(default_factory=dict)


def render(suites: list[Suite], *, name: str) -> str:
    """The document, with its XML declaration."""
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for suite in suites:
        failures = sum(1 for c in suite.cases if c.failures)
        skipped = sum(1 for c in suite.cases if c.skipped and not c.failures)
        time = sum(c.time for c in suite.cases)
        el = ET.SubElement(root, "testsuite", name=suite.name, tests=str(len(suite.cases)),
                           failures=str(failures), errors="0", skipped=str(skipped),
                           time=seconds(time))
        if suite.properties:
            props = ET.SubElement(el, "properties")
            for key, value in suite.properties.items():
                ET.SubElement(props, "property", name=key, value=clean(value))
        for case in suite.cases:
            c = ET.SubElement(el, "testcase", name=case.name, classname=case.classname,
                              time=seconds(case.time))
            for message, text in case.failures:
                ET.SubElement(c, "failure", type="failure", message=clean(message)).text = clean(text)
            if case.skipped is not None and not case.failures:
                ET.SubElement(c, "skipped", type="skipped", message=clean(case.skipped))
            if case.out:
                ET.SubElement(c, "system-out").text = clean(case.out)
        totals["tests"] += len(suite.cases)
        totals["failures"] += failures
        totals["time"] += time
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("time", seconds(totals["time"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
