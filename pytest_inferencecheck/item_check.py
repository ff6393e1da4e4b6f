"""Run one check for a pytest item: progress lines, the run's store, the result, the verdict."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import pytest

from .options import CheckOptions
from .reporters.text import explain
from .result import Stage
from .settings import Settings

RESULTS = pytest.StashKey[list]()
SETTINGS = pytest.StashKey[Settings]()
STORE = pytest.StashKey[Any]()
SIBLINGS = pytest.StashKey[dict]()  # a marked test's (or config model's) selected targets
USER_PROPERTY = "inferencecheck"
SEED = 0


def seed_torch() -> None:
    """Start every check from the same random state, so that a model built with random weights
    (from a config, say) is the same model on every run, and its artifacts are reused."""
    import torch

    torch.manual_seed(SEED)


def group_of(item: pytest.Item) -> str:
    """The items of one model: one marked test function, or one config-declared model."""
    entry = getattr(item, "entry", None)
    name = entry.name if entry is not None else getattr(item, "originalname", item.name)
    return f"{item.parent.nodeid if item.parent else ''}::{name}"


def remember_siblings(config: pytest.Config, items: list[pytest.Item], targets: list[str | None]
                      ) -> None:
    """Note which targets each model is checked on in this run (for building ahead)."""
    groups: dict[str, list[str]] = {}
    for item, target in zip(items, targets):
        if target is not None:
            groups.setdefault(group_of(item), []).append(target)
    config.stash[SIBLINGS] = {k: tuple(dict.fromkeys(v)) for k, v in groups.items()}


def store_of(config: pytest.Config) -> Any:
    """This process's artifact store, opened on first use from the run's settings."""
    if STORE not in config.stash:
        s = config.stash.get(SETTINGS, Settings())
        config.stash[STORE] = s.store(config.rootpath)
    return config.stash[STORE]


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
        with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
            reporter.ensure_newline()
            reporter.write_line(line)

    return on_stage


def _apply_baseline(item: pytest.Item, result: Any, settings: Settings) -> str | None:
    """More breaks than the baseline accepts fail; fewer return a 'tighten it' warning."""
    if not settings.baseline or settings.update_baseline or result.graph_breaks is None:
        return None
    from . import baseline
    from .result import Failure

    path = item.config.rootpath / settings.baseline
    verdict = baseline.compare(result, baseline.load(path), item.config.rootpath)
    if verdict.regressions:
        result.failures.append(Failure(
            "baseline", f"{len(result.graph_breaks)} graph breaks, more than the baseline "
                        f"{settings.baseline} accepts; new: " + "; ".join(verdict.regressions),
            "remove the new breaks, or accept them with --inference-check-update-baseline and "
            "commit the baseline", result.graph_breaks[0].file, result.graph_breaks[0].line))
    if verdict.improvements:
        return (f"the baseline {settings.baseline} can be tightened (gone: "
                f"{'; '.join(verdict.improvements)}): run --inference-check-update-baseline and "
                "commit it")
    return None


def run_check(item: pytest.Item, model: Any, example_inputs: Any, target: str,
              options: CheckOptions, **call_kwargs: Any):  # type: ignore[no-untyped-def]
    """Check `model` for `target` on behalf of `item` and turn the result into its verdict."""
    from .checker import check  # torch loads only when a check runs

    settings = item.config.stash.get(SETTINGS, Settings())
    kwargs = {**options.check_kwargs(settings), **call_kwargs}
    # xdist workers already fill the cores: nothing is built ahead there
    siblings = () if hasattr(item.config, "workerinput") else \
        item.config.stash.get(SIBLINGS, {}).get(group_of(item), ())
    result = check(model, example_inputs, target, on_stage=_progress(item, target),
                   store=store_of(item.config),
                   prebuild=tuple(t for t in siblings if t != target), **kwargs)
    result.nodeid = item.nodeid
    loosenable = _apply_baseline(item, result, settings)
    item.stash.setdefault(RESULTS, []).append(result)
    item.config.hook.pytest_inferencecheck_result(item=item, result=result)
    if result.outcome == "failed":
        pytest.fail(explain(result), pytrace=False)
    for warning in filter(None, [result.deviation, loosenable]):
        if settings.strict:
            pytest.fail(f"{explain(result)}\n  {warning}\n  (this fails under "
                        "--inference-check-strict)", pytrace=False)
        path, line, _ = item.location  # point at the user's test, not at us
        warnings.warn_explicit(DeploymentDeviation(f"{item.nodeid}: {warning}"),
                               DeploymentDeviation, str(item.config.rootpath / path),
                               (line or 0) + 1)
    if result.outcome == "skipped":
        pytest.skip(f"{result.target}: {result.skip_reason}")
    return result
