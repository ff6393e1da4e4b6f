"""Errors raised for bad input to the public API: each message says what is valid."""

from __future__ import annotations


class InferenceCheckError(ValueError):
    """A usage error: an unknown target, a wrong option, inputs of the wrong kind."""
