"""IC9xx: the linter's own directives."""

from __future__ import annotations

from pytest_inferencecheck.lint.fixes import SAFE
from pytest_inferencecheck.lint.rules.base import Rule

RULES: tuple[Rule, ...] = (
    Rule(
        code="IC900",
        name="unused-noqa",
        message="Unused `noqa` directive ({codes})",
        what=("Finds `# noqa: IC...` and `# inferencecheck: noqa: IC...` directives that "
              "silence nothing: a code without a finding on that line (or in that file), a code "
              "no rule has, or a rule that is not enabled. Other tools' codes (`# noqa: F401`) "
              "and a bare `# noqa` are never reported: they may be another linter's."),
        why=("A stale directive hides the next real finding on its line, and a mistyped code "
             "(`IC031`) silences nothing while looking as if it did."),
        example="x = model(x)  # noqa: IC301",
        instead="x = model(x)",
        references=("https://docs.astral.sh/ruff/rules/unused-noqa/",),
        default=False,
        on=(),
        fixable=SAFE,
        fix_note=("Only the directive's stale codes are removed (the whole comment when none is "
                  "left); the program is unchanged."),
    ),
)
