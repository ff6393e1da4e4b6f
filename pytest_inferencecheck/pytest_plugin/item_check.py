"""Run one check for a pytest item: progress lines, the run's store, the result, the verdict."""

from __future__ import annotations

import ast
import contextlib
import inspect
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_inferencecheck.config.options import CheckOptions
from pytest_inferencecheck.config.settings import Settings
from pytest_inferencecheck.errors import InferenceCheckError, Uncacheable
from pytest_inferencecheck.gate.step import check_call, decided, open_run_store
from pytest_inferencecheck.gate.verdict import Gate
from pytest_inferencecheck.pytest_plugin import marker
from pytest_inferencecheck.recommendations.table import TARGETS, Target
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import CheckResult, SourceLine, Stage, identity_of
from pytest_inferencecheck.support.nodeids import without_target

RESULTS = pytest.StashKey[list]()
SETTINGS = pytest.StashKey[Settings]()
GATE = pytest.StashKey[Gate]()
STORE = pytest.StashKey[Any]()
CALLS = pytest.StashKey[dict]()  # a call's selected items: call -> {target: node id}
AHEAD = pytest.StashKey[dict]()  # (node id, name) -> a result checked by an earlier item's call
STARTED = pytest.StashKey[set]()  # node ids of the check items that have started
USER_PROPERTY = "inferencecheck"
TARGET_FIXTURE = "inference_check_target"
def group_of(item: pytest.Item) -> str:
    """The items of one model: one marked test function, or one config-declared model."""
    entry = getattr(item, "entry", None)
    name = entry.name if entry is not None else getattr(item, "originalname", item.name)
    return f"{item.parent.nodeid if item.parent else ''}::{name}"


def remember_calls(config: pytest.Config, items: list[pytest.Item], targets: list[str | None]
                   ) -> None:
    """Note which items are one call on several targets (a marked test's, a config model's):
    the same node id but for the target. The first of them to run checks them all."""
    calls: dict[str, dict[str, str]] = {}
    for item, target in zip(items, targets):
        if target is not None:
            calls.setdefault(without_target(item.nodeid, target), {})[target] = item.nodeid
    config.stash[CALLS] = calls


@dataclass
class _Ahead:
    """A target's result, checked by an earlier item's call on the model that call was given."""

    result: CheckResult
    call: str  # the call's model, inputs and options by value
    options: CheckOptions


def _sharing(item: pytest.Item, target: Target) -> list[tuple[Target, str]]:
    """The targets (and their items) this item's call checks besides its own: those of the
    same call whose items have not started. None under xdist (another worker may run them),
    nor for a test that reads its target (its model may depend on it)."""
    started = item.config.stash.setdefault(STARTED, set())
    started.add(item.nodeid)
    if hasattr(item.config, "workerinput") or TARGET_FIXTURE in getattr(item, "fixturenames", ()):
        return []
    call = item.config.stash.get(CALLS, {}).get(without_target(item.nodeid, target.id), {})
    return [(TARGETS[t], nodeid) for t, nodeid in call.items()
            if t != target.id and nodeid not in started and t in TARGETS]


def _call_key(model: Any, example_inputs: Any, example_kwargs: dict | None) -> str | None:
    """The call by value (the model's modules, attributes and weights, its inputs); None when
    it cannot be keyed, and then it is not shared."""
    from pytest_inferencecheck.store.keys import value_fingerprint  # noqa: PLC0415 - defers torch

    try:
        return value_fingerprint((model, example_inputs, example_kwargs), "the call")
    except Uncacheable:
        return None


def store_of(config: pytest.Config) -> Any:
    """This process's artifact store, opened on first use from the run's settings."""
    if STORE not in config.stash:
        s = config.stash.get(SETTINGS, Settings())
        config.stash[STORE] = open_run_store(s, config.rootpath)
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


def declared_at(item: pytest.Item) -> SourceLine | None:
    """Where the check is declared: the `deploy_target` line above the test (or its class, or a
    module's `pytestmark`), or the config entry's header; else the test's own line."""

    entry = getattr(item, "entry", None)
    if entry is not None:  # a config-declared model
        path, line, _ = item.reportinfo()
        return SourceLine(str(path), (line or 0) + 1)
    for obj in (getattr(item, "function", None), getattr(item, "cls", None),
                getattr(item, "module", None)):
        try:
            lines, start = inspect.getsourcelines(obj)  # type: ignore[arg-type]
            file = inspect.getsourcefile(obj)  # type: ignore[arg-type]
        except (OSError, TypeError):
            continue
        line = _marker_line("".join(lines), module=inspect.ismodule(obj))
        if line is not None:
            return SourceLine(str(file), max(start, 1) + line - 1)
    path, line, _ = item.location
    return SourceLine(str(item.config.rootpath / path), (line or 0) + 1)


def _marker_line(source: str, module: bool) -> int | None:
    """The line (1-based, in `source`) of the `deploy_target` marker applied by this code: a
    decorator of the function or class, or a module's `pytestmark`. A docstring or a comment
    that names the marker is not where it is applied."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    if module:
        where: list[ast.AST] = [n for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                                and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                        for t in (n.targets if isinstance(n, ast.Assign)
                                                  else [n.target]))]
    else:
        first = tree.body[0] if tree.body else None
        where = list(getattr(first, "decorator_list", []))
    for node in where:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and sub.attr == marker.NAME:
                return sub.lineno
    return None


def _checked(item: pytest.Item, model: Any, example_inputs: Any, target: Target,
             options: CheckOptions, name: str | None, example_kwargs: dict | None
             ) -> CheckResult:
    """This item's result: checked by an earlier item of the same call when that call was
    given this very model, inputs and options; else checked now, together with the call's
    targets whose items have not run yet (one trace for all of them)."""
    ahead = item.config.stash.setdefault(AHEAD, {})
    others = _sharing(item, target)
    earlier = ahead.pop((item.nodeid, name), None)
    key = _call_key(model, example_inputs, example_kwargs) if earlier or others else None
    if earlier is not None and key is not None and (key, options) == (earlier.call,
                                                                     earlier.options):
        return earlier.result
    if key is None:
        others = []
    targets = [(target, item.nodeid), *others]
    results = check_call(
        model, example_inputs, [(t, nodeid, _progress(item, t.id)) for t, nodeid in targets],
        settings=item.config.stash.get(SETTINGS, Settings()), options=options,
        store=store_of(item.config), name=name, example_kwargs=example_kwargs)
    for (_, nodeid), result in zip(others, results[1:]):
        ahead[(nodeid, name)] = _Ahead(result, key or "", options)
    return results[0]


def gate_of(config: pytest.Config) -> Gate:
    """The run's gate (set at configure; a default one outside a configured run)."""
    return config.stash.get(GATE, None) or Gate(root=config.rootpath)


def run_check(item: pytest.Item, model: Any, example_inputs: Any, target: Target,
              options: CheckOptions, *, name: str | None = None,
              example_kwargs: dict | None = None):  # type: ignore[no-untyped-def]
    """Check `model` for `target` on behalf of `item` and turn the result into its verdict."""
    earlier = item.stash.get(RESULTS, [])
    if any(r.identity == identity_of(name, item.nodeid, target.id) for r in earlier):
        raise InferenceCheckError(
            "inference_check was already called in this test" + (f" with name={name!r}"
                                                                 if name else "")
            + ": each check in one test needs its own name= (its identity in the reports "
              "and the baseline), or put each model in its own test")
    result = _checked(item, model, example_inputs, target, options, name, example_kwargs)
    left = decided(result, gate_of(item.config), declared_at(item))
    item.stash.setdefault(RESULTS, []).append(result)
    item.config.hook.pytest_inferencecheck_result(item=item, result=result)
    if result.outcome == "failed":
        long = item.config.getoption("tbstyle", "auto") == "long"
        pytest.fail(explain(result, details=long), pytrace=False)
    for warning in left:  # at the marker (or config entry), in the user's file, not ours
        src = result.source
        warnings.warn_explicit(DeploymentDeviation(f"{item.nodeid}: {warning}"),
                               DeploymentDeviation, src.file if src else item.nodeid,
                               src.line if src else 0)
    if result.outcome == "skipped":
        pytest.skip(f"{result.target}: {result.skip_reason}")
    return result
