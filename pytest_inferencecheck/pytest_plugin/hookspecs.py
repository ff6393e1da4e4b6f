"""Hooks that pytest-inferencecheck calls, for other plugins to implement."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_inferencecheck.result import CheckResult


@pytest.hookspec
def pytest_inferencecheck_result(item: pytest.Item, result: CheckResult) -> None:
    """Called in the process that ran it, after each check of `item`, before its verdict."""


@pytest.hookspec
def pytest_inferencecheck_summary(config: pytest.Config, results: list[dict]) -> None:
    """Called once on the controller with every result (as JSON-report dicts) of the run."""
