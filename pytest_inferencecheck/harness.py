"""Run one check for a pytest item: progress lines, the result's home, and the verdict."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from .options import CheckOptions
from .reporters.text import explain
from .result import Stage
from .settings import Settings

RESULTS = pytest.StashKey[list]()
SETTINGS = pytest.StashKey[Settings]()
USER_PROPERTY = "inferencecheck"


class DeploymentDeviation(UserWarning):
    """The model deviates from the recommendations table (a failure under strict mode)."""


def _progress(item: pytest.Item, target: str):  # type: ignore[no-untyped-def]
    """Write a line per stage as it finishes, so a minute-long compile never looks hung."""
    config = item.config
    reporter = config.pluginmanager.getplugin("terminalreporter")
    capman = config.pluginmanager.getplugin("capturemanager")
    if config.option.verbose <= 0 or reporter is None or hasattr(config, "workerinput"):
        return None

    def on_stage(stage: Stage) -> None:
        line = f"    [{target}] {stage.name:<20} {stage.status:<7} {stage.seconds:7.2f}s"
        if stage.detail:
            line += f"  {stage.detail.splitlines()[0][:100]}"
        with capman.global_and_fixture_disabled() if capman else _null():
            reporter.ensure_newline()
            reporter.write_line(line)

    return on_stage


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def run_check(item: pytest.Item, model: Any, example_inputs: Any, target: str,
              options: CheckOptions, **call_kwargs: Any):  # type: ignore[no-untyped-def]
    """Check `model` for `target` on behalf of `item` and turn the result into its verdict."""
    from .checker import check  # torch loads only when a check runs

    settings = item.config.stash.get(SETTINGS, Settings())
    kwargs = {k: getattr(options, k) for k in (
        "uses", "atol", "rtol", "dynamic_shapes", "strict_export", "require_device",
        "max_graph_breaks", "backends", "executorch_partitioners", "min_delegation",
        "max_pte_bytes", "cpp_timeout_s")}
    kwargs["require_device"] = kwargs["require_device"] or settings.require_device
    kwargs.update(call_kwargs)
    result = check(model, example_inputs, target, on_stage=_progress(item, target), **kwargs)
    result.nodeid = item.nodeid
    item.stash.setdefault(RESULTS, []).append(result)
    item.config.hook.pytest_inferencecheck_result(item=item, result=result)
    if result.outcome == "failed":
        pytest.fail(explain(result), pytrace=False)
    if result.deviation:
        if settings.strict:
            pytest.fail(f"{explain(result)}\n  (a deviation fails under --inference-check-strict)",
                        pytrace=False)
        path, line, _ = item.location  # point at the user's test, not at us
        warnings.warn_explicit(DeploymentDeviation(f"{item.nodeid}: {result.deviation}"),
                               DeploymentDeviation, str(item.config.rootpath / path),
                               (line or 0) + 1)
    if result.outcome == "skipped":
        pytest.skip(f"{result.target}: {result.skip_reason}")
    return result
