"""One runner per technology: each builds (or reuses) its artifact along its path."""

from __future__ import annotations

from .aoti_cpp import AOTICppRunner
from .aoti_python import AOTIPythonRunner
from .base import Built, Runner, Stored
from .eager import EagerRunner
from .executorch import ExecuTorchRunner
from .torch_compile import TorchCompileRunner

RUNNERS: dict[str, type[Runner]] = {
    "eager": EagerRunner,
    "aoti-python": AOTIPythonRunner,
    "aoti-cpp": AOTICppRunner,
    "torch.compile": TorchCompileRunner,
    "executorch": ExecuTorchRunner,
}

__all__ = ["RUNNERS", "Built", "Runner", "Stored"]
