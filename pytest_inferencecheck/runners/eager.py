"""Row 8: plain PyTorch. The artifact is the model itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..stages import Stages
from .base import Context


class EagerRunner:
    """Eager mode needs no build; its checks (two runs, finite) happen in the eager stage."""

    technology = "eager"

    def build(self, ctx: Context, stages: Stages) -> Callable[..., Any]:
        """Return the model unchanged."""
        return ctx.model
