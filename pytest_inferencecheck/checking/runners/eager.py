"""Row 8: plain PyTorch. The artifact is the model itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_inferencecheck.checking.runners.base import Built

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.facts import Facts
    from pytest_inferencecheck.checking.job import Job


class EagerRunner:
    """Eager mode needs no build; its checks (two runs, finite) happen in the eager stage."""

    technology = "eager"

    def stored(self, job: Job, facts: Facts) -> None:
        """Not stored."""
        return None

    def run_parts(self, job: Job) -> tuple[Any, ...]:
        """Nothing."""
        return ()

    def build(self, job: Job, facts: Facts) -> Built:
        """Return the model unchanged."""
        return Built(job.model)
