"""Models declared in `[tool.inferencecheck.models]` become test items, like marked tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_inferencecheck.config.pyproject import (
    ModelEntry,
    build_model,
    load_callable,
    model_entries,
)
from pytest_inferencecheck.config.section import read_table
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.pytest_plugin.item_check import run_check
from pytest_inferencecheck.recommendations.table import TARGETS


class ConfigModels(pytest.File):
    """A pyproject.toml whose `[tool.inferencecheck.models]` declares models."""

    def collect(self):  # type: ignore[no-untyped-def]
        """One item per (model, target)."""
        for entry in model_entries(read_table(self.path), self.path):
            factory = load_callable(entry.factory, entry.where, self.path.parent)
            inputs = (load_callable(entry.inputs, entry.where, self.path.parent)
                      if entry.inputs else None)
            for target in entry.targets:
                yield ConfigModelItem.from_parent(self, name=f"{entry.name}[{target}]",
                                                  entry=entry, factory=factory, inputs=inputs,
                                                  target=target)

    def repr_failure(self, excinfo):  # type: ignore[no-untyped-def]
        """Bad config is the user's error: show our message, not our traceback."""
        if isinstance(excinfo.value, InferenceCheckError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ConfigModelItem(pytest.Item):
    """Builds the model from its factory and checks it, exactly as a marked test would."""

    def __init__(self, *, entry: ModelEntry, factory: Any, inputs: Any, target: str,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry, self.factory, self.inputs, self.target = entry, factory, inputs, target
        self.add_marker(pytest.mark.deploy_target(target))  # selected and skipped like marked tests

    def runtest(self) -> None:
        """Build, validate what the factory returned, and check."""
        model, example_inputs = build_model(
            self.factory, self.inputs, self.entry.factory, f"{self.entry.where}: ",
            "set 'inputs' to a function returning the example inputs")
        run_check(self, model, example_inputs, TARGETS[self.target], self.entry.options,
                  name=self.entry.name)

    def repr_failure(self, excinfo):  # type: ignore[no-untyped-def]
        """Our errors and check failures speak for themselves."""
        if isinstance(excinfo.value, InferenceCheckError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the item comes from: the line of the config that declares it (0-based)."""
        return self.path, entry_line(self.path, self.entry.name), \
            f"{self.entry.where} on {self.target}"


def entry_line(path: Path, name: str) -> int:
    """The 0-based line declaring model `name`: its table header, or the key in an inline or
    dotted spelling (`models.name = {...}`, `name = {...}` inside `models = {...}`)."""
    lines = path.read_text(errors="replace").splitlines()
    header = re.compile(r"^\s*\[\s*tool\s*\.\s*[\"']?inferencecheck[\"']?\s*\.\s*models\s*\.\s*"
                        rf"[\"']?{re.escape(name)}[\"']?\s*\]")
    key = re.compile(rf"(^|[\s.{{,])[\"']?{re.escape(name)}[\"']?\s*(=|\.)")
    for pattern in (header, key):
        found = next((i for i, text in enumerate(lines) if pattern.search(text)), None)
        if found is not None:
            return found
    return 0
