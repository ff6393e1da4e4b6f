"""One emitter per output format; each renders a `LintResult` to text."""

from __future__ import annotations

from collections.abc import Callable

from pytest_inferencecheck.lint.emitters import github, json_format, junit, sarif, text
from pytest_inferencecheck.lint.engine import LintResult

EMITTERS: dict[str, Callable[[LintResult], str]] = {
    "text": text.render,
    "github": github.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
