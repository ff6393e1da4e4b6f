"""What every runner gets and gives: a context in, a callable artifact out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.utils._pytree as pytree
from torch.export._tree_utils import reorder_kwargs

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


class ProgramCall:
    """An exported program's calling convention: model-style arguments in, the model's outputs
    out, with flat tensor lists in between (what the C++ runner and ExecuTorch take and give)."""

    def __init__(self, program: torch.export.ExportedProgram) -> None:
        self.in_spec, self.out_spec = program.call_spec.in_spec, program.call_spec.out_spec

    def flat_inputs(self, args: tuple, kwargs: dict) -> list[torch.Tensor]:
        """The tensors among the arguments, in the program's order."""
        flat = pytree.tree_flatten((args, reorder_kwargs(kwargs, self.in_spec)))[0]
        return [x for x in flat if isinstance(x, torch.Tensor)]

    def outputs(self, flat: list[Any]) -> Any:
        """The flat outputs in the structure the model returns."""
        return pytree.tree_unflatten(list(flat), self.out_spec)
