"""One runner per technology: each builds (or reuses) its artifact along its path."""

from __future__ import annotations

from pytest_inferencecheck.checking.runners.aoti_cpp import AOTICppRunner
from pytest_inferencecheck.checking.runners.aoti_python import AOTIPythonRunner
from pytest_inferencecheck.checking.runners.base import Built, Runner, Stored
from pytest_inferencecheck.checking.runners.eager import EagerRunner
from pytest_inferencecheck.checking.runners.executorch import ExecuTorchRunner
from pytest_inferencecheck.checking.runners.torch_compile import TorchCompileRunner

#: Each runner names its technology (the `Runner` protocol); the registry is keyed by that name,
#: as the reporters' (`reporters.files`) and the linter's emitters' are by theirs.
RUNNERS: dict[str, type[Runner]] = {runner.technology: runner for runner in (
    EagerRunner, AOTIPythonRunner, AOTICppRunner, TorchCompileRunner, ExecuTorchRunner)}

__all__ = ["RUNNERS", "Built", "Runner", "Stored"]
