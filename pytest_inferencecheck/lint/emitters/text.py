"""`path:line:col: CODE [*] message`, one finding a line, then ruff's summary: paths from the
current folder, `[*]` where a fix applies, the count of errors and fixes."""

from __future__ import annotations

from pytest_inferencecheck.lint.engine import LintResult
from pytest_inferencecheck.lint.fixes import UNSAFE


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def render(result: LintResult) -> str:
    """The text output."""
    unsafe = result.unsafe_fixes
    fixable = [f for f in result.findings if f.fix is not None and f.fix.applies(unsafe)]
    hidden = [f for f in result.findings if f.fix is not None and not f.fix.applies(unsafe)
              and f.fix.applicability == UNSAFE]
    marked = {id(f) for f in fixable}
    lines = [f"{result.shown(f.path)}:{f.line}:{f.col}: {f.code}"
             f"{' [*]' if id(f) in marked else ''} {f.message}" for f in result.findings]
    for e in result.errors:
        where = f"{result.shown(e.path)}:{e.line}:{e.col or 0}" if e.line else \
            result.shown(e.path)
        lines.append(f"error: {where}: {e.message}")
    n, bad, fixed = len(result.findings), len(result.errors), result.fixed
    if fixed:
        lines.append(f"Found {_plural(n + fixed, 'error')} ({fixed} fixed, {n} remaining).")
    elif n:
        lines.append(f"Found {_plural(n, 'error')}.")
    more = f" ({_plural(len(hidden), 'hidden fix', 'hidden fixes')} can be enabled with the " \
           f"`--unsafe-fixes` option)" if hidden else ""
    if fixable:
        lines.append(f"[*] {len(fixable)} fixable with the `--fix` option{more}.")
    elif hidden:
        lines.append(f"No fixes available{more}.")
    if bad:
        lines.append(f"{_plural(bad, 'file')} could not be linted.")
    if not n and not bad:
        lines.append("All checks passed!")
    return "\n".join(lines) + "\n"
