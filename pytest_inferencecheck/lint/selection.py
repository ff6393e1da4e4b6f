"""Which rules run: ruff's selection semantics.

Selections come in layers: the defaults, then `[tool.inferencecheck.lint]`, then the command
line. A layer with `select` starts over from it (the command line's `--select IC3` enables IC3
whatever the config ignored); a layer without `select` adjusts the one before with its
`extend-select` and `ignore`. Within a layer the more specific selector wins (`ignore = ["IC3"]`
with `extend-select = ["IC305"]` enables IC305), and at equal specificity `ignore` wins.
`ALL` selects every rule."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.lint.rules import RULES

ALL = "ALL"


@dataclass(frozen=True)
class Selection:
    """One layer: `select` (None: keep the previous layer's), `extend_select`, `ignore`."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


DEFAULTS = Selection(select=tuple(r.code for r in RULES if r.default))


def _matches(selector: str, code: str) -> bool:
    return selector == ALL or code.startswith(selector)


def _specificity(selector: str) -> int:
    return 0 if selector == ALL else len(selector)


def resolve(layers: list[Selection]) -> frozenset[str]:
    """The codes that run after applying every layer in order."""
    enabled: set[str] = set()
    for layer in layers:
        updates: dict[str, bool] = {}
        selectors = [(s, True) for s in (*(layer.select or ()), *layer.extend_select)] + \
                    [(s, False) for s in layer.ignore]
        for selector, on in sorted(selectors, key=lambda p: (_specificity(p[0]), not p[1])):
            for rule in RULES:  # ignores sort after selects of equal specificity: they win
                if _matches(selector, rule.code):
                    updates[rule.code] = on
        if layer.select is not None:
            enabled = {code for code, on in updates.items() if on}
        else:
            for code, on in updates.items():
                (enabled.add if on else enabled.discard)(code)
    return frozenset(enabled)


def validate_select(codes: list[str] | tuple[str, ...], source: str) -> tuple[str, ...]:
    """A `select` list: validated codes, and at least one (an empty one would check nothing
    and pass silently)."""
    out = validate_codes(codes, source)
    if not out:
        raise InferenceCheckError(f"{source} names no rule: give codes, prefixes or ALL, or "
                                  f"leave it out for the default rules")
    return out


def validate_codes(codes: list[str] | tuple[str, ...], source: str) -> tuple[str, ...]:
    """Codes, prefixes or `ALL`, each matching at least one rule (a typo is an error)."""
    out = []
    for code in codes:
        code = code.strip().upper()
        if not code:
            continue
        if code != ALL and not any(r.code.startswith(code) for r in RULES):
            raise InferenceCheckError(f"{source}: {code!r} matches no rule; rules: "
                                      f"{', '.join(r.code for r in RULES)} (or ALL)")
        out.append(code)
    return tuple(out)
