"""IC9xx: the linter's own directives."""

from __future__ import annotations

from pytest_inferencecheck.lint.fixes import SAFE
from pytest_inferencecheck.lint.rules import Rule

RULES: tuple[Rule, ...] = (
    Rule("IC900", "unused-noqa",
         "Unused `noqa` directive ({codes})",
         "Finds `# noqa: IC...` and `# inferencecheck: noqa: IC...` directives that silence "
         "nothing: a code without a finding on that line (or in that file), a code no rule "
         "has, or a rule that is not enabled. Other tools' codes (`# noqa: F401`) and a bare "
         "`# noqa` are never reported: they may be another linter's.",
         "A stale directive hides the next real finding on its line, and a mistyped code "
         "(`IC031`) silences nothing while looking as if it did.",
         "x = model(x)  # noqa: IC301", "x = model(x)",
         ("https://docs.astral.sh/ruff/rules/unused-noqa/",), default=False, on=(),
         fixable=SAFE, fix_note="Only the directive's stale codes are removed (the whole "
         "comment when none is left); the program is unchanged."),
)
