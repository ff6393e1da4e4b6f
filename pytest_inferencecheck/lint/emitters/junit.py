"""JUnit XML (valid against junit-10.xsd): a case per file, a failure per finding."""

from __future__ import annotations

from collections import defaultdict

from pytest_inferencecheck.lint.engine import LintResult
from pytest_inferencecheck.support import junit_xml as junit_doc

CLASSNAME = "inferencecheck.lint"


def render(result: LintResult) -> str:
    """The JUnit output; a file that could not be linted is a failed case of its own."""
    by_file: dict[str, list] = defaultdict(list)
    for f in result.findings:
        by_file[f.path].append(f)
    cases = []
    for path in sorted(by_file):
        lines = [f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" for f in by_file[path]]
        case = junit_doc.Case(path, CLASSNAME, out="\n".join(lines))
        case.failures = [(f"{f.code} {f.message} (line {f.line}, column {f.col})", line)
                         for f, line in zip(by_file[path], lines)]
        cases.append(case)
    for error in result.errors:
        cases.append(junit_doc.Case(error.path, CLASSNAME,
                                    failures=[(f"error: {error}", str(error))]))
    if not cases:
        cases.append(junit_doc.Case("lint", CLASSNAME))
    return junit_doc.render([junit_doc.Suite("inferencecheck-lint", cases)],
                            name="inferencecheck-lint")
