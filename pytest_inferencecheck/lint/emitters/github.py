"""GitHub Actions workflow-command annotations (advisory IC3xx as warnings), with end positions
so the annotation underlines the flagged expression."""

from __future__ import annotations

from pytest_inferencecheck.lint.engine import LintResult
from pytest_inferencecheck.lint.rules import BY_CODE
from pytest_inferencecheck.support.workflow_commands import command


def render(result: LintResult) -> str:
    """One `::error`/`::warning` line per finding, then one per file that could not be linted."""
    lines = []
    for f in result.findings:
        rule = BY_CODE[f.code]
        level = "warning" if rule.advisory else "error"
        lines.append(command(level, f.message, file=f.path, line=f.line, col=f.col,
                             end_line=f.end_line, end_col=f.end_col,
                             title=f"{f.code} {rule.name}"))
    lines += [command("error", e.message, file=e.path, line=e.line, col=e.col,
                      title="inferencecheck lint: cannot lint file") for e in result.errors]
    return "\n".join(lines) + ("\n" if lines else "")
