"""pytest-inferencecheck: hold PyTorch models to PyTorch's 2.x inference recommendations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .decision import Recommendation, recommend
from .errors import InferenceCheckError
from .store import ArtifactStore
from .table import ALIASES, TABLE, TARGETS, TECHNOLOGIES, Row, Target

__version__ = "0.1.0"

__all__ = ["ALIASES", "ArtifactStore", "TABLE", "TARGETS", "TECHNOLOGIES", "CheckResult",
           "InferenceCheckError", "Recommendation", "Row", "Target", "check", "recommend",
           "__version__"]

if TYPE_CHECKING:
    from .checker import check
    from .result import CheckResult


def __getattr__(name: str) -> Any:
    # torch is imported only when a check is asked for: the table, the decision and the
    # linter stay importable (and fast) without it.
    if name == "check":
        from .checker import check

        return check
    if name == "CheckResult":
        from .result import CheckResult

        return CheckResult
    raise AttributeError(f"module 'pytest_inferencecheck' has no attribute {name!r}")
