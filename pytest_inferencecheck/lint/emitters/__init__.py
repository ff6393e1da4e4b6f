"""One emitter per output format; each renders a `LintResult` to text. An emitter's module is
imported when its format is asked for: the GitHub and JUnit ones bring the reporters with
them, which a plain `inferencecheck lint` (mostly imports, on a warm tree) does not need."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_inferencecheck.lint.engine import LintResult


def _deferred(module: str) -> Callable[[LintResult], str]:
    def render(result: LintResult) -> str:
        return importlib.import_module(f"{__name__}.{module}").render(result)

    render.__qualname__ = f"{module}.render"
    return render


EMITTERS: dict[str, Callable[[LintResult], str]] = {
    "text": _deferred("text"),
    "github": _deferred("github"),
    "json": _deferred("json_format"),
    "sarif": _deferred("sarif"),
    "junit": _deferred("junit"),
}
