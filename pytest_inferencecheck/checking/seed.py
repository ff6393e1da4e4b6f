"""The random state every check starts from, shared by the plugin and `inferencecheck run`.
No torch at import: the plugin imports this before any check runs."""

from __future__ import annotations

SEED = 0


def seed_torch() -> None:
    """Start every check from the same random state, so that a model built with random weights
    (from a config, say) is the same model on every run, and its artifacts are reused."""
    import torch  # noqa: PLC0415 - defers torch; deferred: importing the plugin must not import torch

    torch.manual_seed(SEED)
