"""The per-check step the pytest plugin and `inferencecheck run` share: one check with the run's
settings and options, its identity, then the one verdict. Neither front end checks or decides
any other way, so both reach the same verdict on the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_inferencecheck.config.options import CheckOptions
from pytest_inferencecheck.config.settings import Settings
from pytest_inferencecheck.gate.verdict import Gate, decide
from pytest_inferencecheck.result import CheckResult, SourceLine
from pytest_inferencecheck.store import open_store
from pytest_inferencecheck.store.artifacts import ArtifactStore


def open_run_store(settings: Settings, root: Path) -> ArtifactStore:
    """The artifact store the run's settings describe (`cache_dir` relative to `root`)."""
    where = root / settings.cache_dir if settings.cache_dir else None
    return open_store(where, max_bytes=settings.cache_size, persistent=settings.cache,
                      shared=False)


def check_and_decide(model: Any, example_inputs: Any, target: str, *, settings: Settings,
                     options: CheckOptions, store: ArtifactStore, gate: Gate,
                     nodeid: str | None = None, source: SourceLine | None = None,
                     **call_kwargs: Any) -> tuple[CheckResult, list[str]]:
    """Check `model` on `target` as this run is set up; the result (its verdict in it) and the
    warnings left for the front end to show (deviations, when not strict).

    `call_kwargs` are `check()`'s own (a test's `name=`, `on_stage=`, `prebuild=`): they win
    over the options'."""
    from pytest_inferencecheck.checking.api import check  # noqa: PLC0415 - defers torch

    kwargs = {**options.check_kwargs(settings), **call_kwargs}
    result = check(model, example_inputs, target, store=store, level=settings.level, **kwargs)
    if nodeid is not None:
        result.nodeid = nodeid
        result.identity = call_kwargs.get("name") or result.test  # an explicit name= wins
    result.source = source
    return result, decide(result, gate)  # the baseline is keyed by the identity set above
