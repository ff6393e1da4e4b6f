"""A JSON document: findings with locations and codes, and unreadable files."""

from __future__ import annotations

import json

from pytest_inferencecheck.lint.engine import LintResult
from pytest_inferencecheck.lint.rules import BY_CODE


def render(result: LintResult) -> str:
    """The JSON output."""
    return json.dumps({
        "findings": [{"path": f.path, "line": f.line, "col": f.col, "end_line": f.end_line,
                      "end_col": f.end_col, "code": f.code, "name": BY_CODE[f.code].name,
                      "message": f.message} for f in result.findings],
        "errors": [str(e) for e in result.errors], "files": result.files}, indent=2) + "\n"
