"""Rows 4, 5, 7: torch.compile with a backend (inductor by default), compiled on first call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..quiet import quiet_torch
from ..stages import Stages
from .base import Context


class TorchCompileRunner:
    """`torch.compile(model, backend=...)`, warmed up once so compilation is its own stage."""

    technology = "torch.compile"

    def build(self, ctx: Context, stages: Stages) -> Callable[..., Any]:
        """Compile (by calling once) and return the compiled module; reuse one the race built."""
        raced = ctx.artifacts.get(f"torch.compile:{ctx.backend}")
        if raced is not None:
            stages.record("compile", 0.0, f"backend {ctx.backend}, reused from the race")
            return raced
        compiled = torch.compile(ctx.model, backend=ctx.backend)
        with stages.stage("compile") as st, quiet_torch(), torch.no_grad():
            compiled(*ctx.args, **ctx.kwargs)
            st.detail = f"backend {ctx.backend}"
        return compiled
