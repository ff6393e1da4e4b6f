"""One runner per technology: each turns a model into a callable artifact along its path."""

from __future__ import annotations

from .base import Context, Runner
from .aoti_cpp import AOTICppRunner
from .aoti_python import AOTIPythonRunner
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

__all__ = ["RUNNERS", "Context", "Runner"]
