"""A JSON document: findings with locations and codes, and unreadable files."""

from __future__ import annotations

import json

from pytest_inferencecheck.lint.engine import LintResult
from pytest_inferencecheck.lint.fixes import Fix
from pytest_inferencecheck.lint.rules import BY_CODE


def _fix(fix: Fix | None) -> dict | None:
    """A fix as ruff's JSON has it: applicability, message, edits with locations."""
    if fix is None:
        return None
    return {"applicability": fix.applicability, "message": fix.message,
            "edits": [{"content": e.content, "location": {"row": e.line, "column": e.col},
                       "end_location": {"row": e.end_line, "column": e.end_col}}
                      for e in fix.edits]}


def render(result: LintResult) -> str:
    """The JSON output."""
    return json.dumps({
        "findings": [{"path": f.path, "line": f.line, "col": f.col, "end_line": f.end_line,
                      "end_col": f.end_col, "code": f.code, "name": BY_CODE[f.code].name,
                      "message": f.message, "fix": _fix(f.fix)} for f in result.findings],
        "errors": [str(e) for e in result.errors], "files": result.files}, indent=2) + "\n"
