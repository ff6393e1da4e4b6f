"""`path:line:col: CODE message`, one finding a line, then a count."""

from __future__ import annotations

from pytest_inferencecheck.lint.engine import LintResult


def render(result: LintResult) -> str:
    """The text output."""
    lines = [f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" for f in result.findings]
    lines += [f"error: {e}" for e in result.errors]
    n, bad = len(result.findings), len(result.errors)
    if n:
        lines.append(f"Found {n} finding{'s' if n != 1 else ''} in {result.files} "
                     f"file{'s' if result.files != 1 else ''}.")
    if bad:
        lines.append(f"{bad} file{'s' if bad != 1 else ''} could not be linted.")
    if not n and not bad:
        lines.append(f"All checks passed ({result.files} file"
                     f"{'s' if result.files != 1 else ''}).")
    return "\n".join(lines) + "\n"
