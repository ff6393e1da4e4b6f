"""One runner per technology: each builds (or reuses) its artifact along its path."""

from __future__ import annotations

from pytest_inferencecheck.checking.runners.aoti_cpp import AOTICppRunner
from pytest_inferencecheck.checking.runners.aoti_python import AOTIPythonRunner
from pytest_inferencecheck.checking.runners.base import Built, Runner, Stored
from pytest_inferencecheck.checking.runners.eager import EagerRunner
from pytest_inferencecheck.checking.runners.executorch import ExecuTorchRunner
from pytest_inferencecheck.checking.runners.torch_compile import TorchCompileRunner

RUNNERS: dict[str, type[Runner]] = {
    "eager": EagerRunner,
    "aoti-python": AOTIPythonRunner,
    "aoti-cpp": AOTICppRunner,
    "torch.compile": TorchCompileRunner,
    "executorch": ExecuTorchRunner,
}

__all__ = ["RUNNERS", "Built", "Runner", "Stored"]
