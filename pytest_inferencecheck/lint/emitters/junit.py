"""JUnit XML via junit-xml: a case per file, a failure per finding."""

from __future__ import annotations

from collections import defaultdict

from ..engine import LintResult


def render(result: LintResult) -> str:
    """The JUnit output (junit-xml is imported only for this format)."""
    from junit_xml import TestCase, TestSuite, to_xml_report_string

    by_file: dict[str, list] = defaultdict(list)
    for f in result.findings:
        by_file[f.path].append(f)
    cases = []
    for path in sorted(by_file):
        case = TestCase(path, classname="inferencecheck.lint", file=path,
                        allow_multiple_subelements=True)  # one <failure> per finding
        for f in by_file[path]:
            case.add_failure_info(message=f"{f.code} {f.message}",
                                  output=f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}")
        cases.append(case)
    for error in result.errors:
        case = TestCase(error.split(":")[0], classname="inferencecheck.lint")
        case.add_error_info(message=error)
        cases.append(case)
    if not cases:
        cases.append(TestCase("lint", classname="inferencecheck.lint"))
    return to_xml_report_string([TestSuite("inferencecheck-lint", cases)], encoding="utf-8")
