"""One emitter per output format; each renders a `LintResult` to text."""

from __future__ import annotations

from collections.abc import Callable

from ..engine import LintResult
from . import github, json_format, junit, sarif, text

EMITTERS: dict[str, Callable[[LintResult], str]] = {
    "text": text.render,
    "github": github.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
