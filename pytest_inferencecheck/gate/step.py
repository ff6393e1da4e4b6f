"""The per-check step the pytest plugin and `inferencecheck run` share: one check with the run's
settings and options, its identity, then the one verdict. Neither front end checks or decides
any other way, so both reach the same verdict on the same model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_inferencecheck.config.options import CheckOptions
from pytest_inferencecheck.config.settings import Settings
from pytest_inferencecheck.gate.verdict import Gate, decide
from pytest_inferencecheck.recommendations.table import Target
from pytest_inferencecheck.result import CheckResult, SourceLine, Stage
from pytest_inferencecheck.store import open_store
from pytest_inferencecheck.store.artifacts import ArtifactStore
from pytest_inferencecheck.store.remote import RemoteSpec, open_remote


def open_run_store(settings: Settings, root: Path) -> ArtifactStore:
    """The artifact store the run's settings describe (`cache_dir` relative to `root`), with
    the team store behind it when the run names one."""
    where = root / settings.cache_dir if settings.cache_dir else None
    return open_store(where, max_bytes=settings.cache_size, persistent=settings.cache,
                      shared=False, remote=remote_spec(settings))


def check_remote(settings: Settings) -> None:
    """Open the team store the settings name once, at the run's door, so that a missing extra,
    a bad URL or an unreadable key is a usage error before any check runs (nothing is sent)."""
    spec = remote_spec(settings)
    if spec is not None:
        open_remote(spec)


def remote_spec(settings: Settings) -> RemoteSpec | None:
    """The team store the settings name, as the store opens it (None: none)."""
    if not settings.remote or not settings.cache:
        return None
    return RemoteSpec(settings.remote, write=settings.remote_write,
                      trusted_keys=settings.remote_trusted_keys,
                      signing_key=settings.remote_signing_key,
                      timeout_s=settings.remote_timeout or 30.0)


def check_and_decide(model: Any, example_inputs: Any, target: Target, *, settings: Settings,
                     options: CheckOptions, store: ArtifactStore, gate: Gate,
                     nodeid: str | None = None, source: SourceLine | None = None,
                     name: str | None = None, example_kwargs: dict | None = None,
                     on_stage: Callable[[Stage], None] | None = None,
                     prebuild: tuple[Target, ...] = ()) -> tuple[CheckResult, list[str]]:
    """Check `model` on `target` as this run is set up; the result (its verdict in it) and the
    warnings left for the front end to show (deviations, when not strict)."""
    result = check_call(model, example_inputs, [(target, nodeid, on_stage)], settings=settings,
                        options=options, store=store, name=name, example_kwargs=example_kwargs,
                        prebuild=prebuild)[0]
    return result, decided(result, gate, source)


def check_call(model: Any, example_inputs: Any,
               targets: list[tuple[Target, str | None, Callable[[Stage], None] | None]], *,
               settings: Settings, options: CheckOptions, store: ArtifactStore,
               name: str | None = None, example_kwargs: dict | None = None,
               prebuild: tuple[Target, ...] = (),
               on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check `model` on each of `targets` (target, node id, progress) in one call as this run
    is set up: one measurement of the facts shared by all (`checking.sharing`). Each result's
    verdict is `decided` by the front end where it reports it.

    Everything arrives validated and typed (the front end validated it once, at its door): the
    options are completed by the run's settings (`CheckOptions.for_run`), never re-validated."""
    from pytest_inferencecheck.checking.api import TargetCall, run_call  # noqa: PLC0415 - defers torch

    return run_call(model, example_inputs, [TargetCall(*t) for t in targets],
                    options.for_run(settings), level=settings.level,
                    example_kwargs=example_kwargs, name=name, store=store, prebuild=prebuild,
                    on_result=on_result)


def decided(result: CheckResult, gate: Gate, source: SourceLine | None = None) -> list[str]:
    """The one verdict on `result` (declared at `source`): the warnings left for the front end
    to show (deviations, when not strict)."""
    result.source = source
    return decide(result, gate)  # the baseline is keyed by the result's identity
