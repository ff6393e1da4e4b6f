"""Rows 4, 5, 7: torch.compile with a backend (inductor by default), compiled on first call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from pytest_inferencecheck.checking.runners.base import Built
from pytest_inferencecheck.host.faults import require_compiler
from pytest_inferencecheck.support.quiet import quiet_torch

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.facts import Facts
    from pytest_inferencecheck.checking.job import Job


class TorchCompileRunner:
    """`torch.compile(model, backend=...)`, warmed up once so compilation is its own stage.

    Nothing is stored: torch.compile's own caches hold what it compiles. A module the row-7
    race already compiled with the same backend is reused.
    """

    technology = "torch.compile"

    def __init__(self, backend: str = "inductor",
                 compiled: Callable[..., Any] | None = None) -> None:
        self.backend, self.compiled = backend, compiled

    def stored(self, job: Job, facts: Facts) -> None:
        """Not stored."""
        return None

    def run_parts(self, job: Job) -> tuple[Any, ...]:
        """The backend."""
        return (self.backend,)

    def build(self, job: Job, facts: Facts) -> Built:
        """Compile (by calling once) and return the compiled module."""
        if self.compiled is not None:
            job.stages.record("compile", 0.0, f"backend {self.backend}, reused from the race")
            return Built(self.compiled)
        compiled = torch.compile(job.model, backend=self.backend)
        with job.stages.stage("compile") as st, quiet_torch(), torch.no_grad():
            if self.backend == "inductor" and job.device == "cpu":
                require_compiler()
            compiled(*job.args, **job.kwargs)
            st.detail = f"backend {self.backend}"
        return Built(compiled)
