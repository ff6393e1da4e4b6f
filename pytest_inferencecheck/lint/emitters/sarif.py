"""SARIF 2.1.0 with what GitHub code scanning reads: rules with help, repository-relative URIs
(percent-encoded as RFC 3986 requires), regions with ends, and partialFingerprints that track an
alert across commits."""

from __future__ import annotations

import json
from urllib.parse import quote

from pytest_inferencecheck.lint.engine import LintResult
from pytest_inferencecheck.lint.rules import BY_CODE, RULES
from pytest_inferencecheck.support.version import __version__

FINGERPRINT = "inferencecheckFingerprint/v1"


def uri(path: str) -> str:
    """A relative path as a URI reference: `src/odd dir/a,b:c.py` -> `src/odd%20dir/a%2Cb%3Ac.py`
    (a `:` left in the first segment would read as a scheme)."""
    return quote(path, safe="/")


def _locations(path: str, line: int | None, col: int | None = None,
               end_line: int | None = None, end_col: int | None = None) -> list[dict]:
    """A finding's or an error's one location: the file, and the region where one is known."""
    location: dict = {"artifactLocation": {"uri": uri(path), "uriBaseId": "%SRCROOT%"}}
    if line:
        location["region"] = {k: v for k, v in (("startLine", line), ("startColumn", col),
                                                 ("endLine", end_line), ("endColumn", end_col))
                              if v}
    return [{"physicalLocation": location}]


def render(result: LintResult) -> str:
    """The SARIF log."""
    rules = [{"id": r.code, "name": r.name,
              "shortDescription": {"text": r.what},
              "fullDescription": {"text": r.why},
              "help": {"text": r.doc(), "markdown": r.doc()},
              "helpUri": r.references[0] if r.references[0].startswith("http") else None,
              "defaultConfiguration": {"level": "warning" if r.advisory else "error",
                                       "enabled": r.default},
              "properties": {"tags": ["pytorch", "deployment"]}} for r in RULES]
    for rule in rules:
        if rule["helpUri"] is None:
            del rule["helpUri"]
    index = {r.code: i for i, r in enumerate(RULES)}
    results = [{
        "partialFingerprints": {FINGERPRINT: f.fingerprint},
        "ruleId": f.code, "ruleIndex": index[f.code],
        "level": "warning" if BY_CODE[f.code].advisory else "error",
        "message": {"text": f.message},
        "locations": _locations(f.path, f.line, f.col, f.end_line, f.end_col),
    } for f in result.findings]
    notifications = [{
        "level": "error", "message": {"text": str(e)},
        "locations": _locations(e.path, e.line, e.col)} for e in result.errors]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "inferencecheck-lint", "version": __version__,
                                "informationUri": "https://pypi.org/project/pytest-inferencecheck/",
                                "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///"}},
            "results": results,
            "invocations": [{"executionSuccessful": not result.errors,
                             "toolExecutionNotifications": notifications}],
        }],
    }
    del log["runs"][0]["originalUriBaseIds"]  # relative URIs resolve against the checkout
    return json.dumps(log, indent=2) + "\n"
