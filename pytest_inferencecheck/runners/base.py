"""What every runner gets and gives: a context in, a callable artifact out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ..stages import Stages


@dataclass
class Context:
    """The model, its inputs, and what earlier stages produced (so nothing is done twice)."""

    model: torch.nn.Module
    args: tuple
    kwargs: dict
    workdir: Path
    backend: str = "inductor"
    program: torch.export.ExportedProgram | None = None
    artifacts: dict[str, Any] = field(default_factory=dict)  # e.g. "pt2": Path, shared by runners
    options: dict[str, Any] = field(default_factory=dict)  # per-path options (partitioners...)


class Runner(Protocol):
    """Builds the artifact for one technology inside timed stages."""

    technology: str

    def build(self, ctx: Context, stages: Stages) -> Callable[..., Any]:
        """Compile/load the artifact; return something called like the model."""
        ...
