"""Errors raised for bad input to the public API: each message says what is valid."""

from __future__ import annotations


class InferenceCheckError(ValueError):
    """A usage error: an unknown target, a wrong option, inputs of the wrong kind."""


def reject_unknown_keys(table: dict, valid: set[str] | frozenset[str], where: str) -> None:
    """Raise, naming the table and the valid keys, if a config table has keys we do not know."""
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise InferenceCheckError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: "
                                  f"{', '.join(sorted(valid))}")
