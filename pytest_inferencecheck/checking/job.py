"""One check's inputs: the model, its arguments, the target, options, the store and the stages."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from pytest_inferencecheck.checking.stages import Stages
from pytest_inferencecheck.config.options import CheckOptions
from pytest_inferencecheck.errors import Uncacheable
from pytest_inferencecheck.recommendations.table import Target
from pytest_inferencecheck.result import Use
from pytest_inferencecheck.store.artifacts import ArtifactStore
from pytest_inferencecheck.store.keys import value_fingerprint


class FactsSource(Protocol):
    """Where a check's facts come from when they are shared (`sharing.SharedFacts`)."""

    def gather(self, job: Job) -> Any:
        """The facts for `job`."""


@dataclass
class Job:
    """Everything a check works from; stages and store uses accumulate as it goes."""

    model: torch.nn.Module
    args: tuple
    kwargs: dict
    target: Target
    opts: CheckOptions
    device: str
    store: ArtifactStore
    stages: Stages
    name: str
    workdir: Path
    prebuild: tuple[str, ...] = ()  # other targets of this model: their artifacts may be built ahead
    level: str = "full"  # "quick": facts and the row only, nothing compiled, lowered or run
    shared: FactsSource | None = None  # the facts of the call this check is one target of
    uses: list[Use] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # entries the first try of a path built before a reused entry failed and the path was
    # built again: the retry finds them in the store, but this check built them
    built_before_retry: dict[tuple[str, str], Use] = field(default_factory=dict)

    def call(self) -> Any:
        """Run the eager model on the example inputs."""
        return self.model(*self.args, **self.kwargs)

    @functools.cached_property
    def inputs_key(self) -> str | None:
        """The example inputs by value (None when they cannot be keyed)."""
        try:
            return value_fingerprint((self.args, self.kwargs))
        except Uncacheable as exc:
            self.notes.append(f"the example inputs cannot be keyed ({exc}): nothing measured "
                              "on them is reused")
            return None

    def used(self, use: Use) -> Use:
        """Record a store entry this check built or reused."""
        self.uses.append(use)
        return use
