"""Run one check for a pytest item: progress lines, the run's store, the result, the verdict."""

from __future__ import annotations

import ast
import contextlib
import inspect
import textwrap
import warnings
from typing import Any

import pytest

from pytest_inferencecheck.config.options import CheckOptions
from pytest_inferencecheck.config.settings import Settings
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.gate.step import check_and_decide, open_run_store
from pytest_inferencecheck.gate.verdict import Gate
from pytest_inferencecheck.pytest_plugin import marker
from pytest_inferencecheck.recommendations.table import TARGETS, Target
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import SourceLine, Stage, identity_of

RESULTS = pytest.StashKey[list]()
SETTINGS = pytest.StashKey[Settings]()
GATE = pytest.StashKey[Gate]()
STORE = pytest.StashKey[Any]()
SIBLINGS = pytest.StashKey[dict]()  # a marked test's (or config model's) selected targets
USER_PROPERTY = "inferencecheck"
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
    # xdist workers already fill the cores: nothing is built ahead there
    siblings = () if hasattr(item.config, "workerinput") else \
        item.config.stash.get(SIBLINGS, {}).get(group_of(item), ())
    result, left = check_and_decide(
        model, example_inputs, target, settings=item.config.stash.get(SETTINGS, Settings()),
        options=options, store=store_of(item.config), gate=gate_of(item.config),
        nodeid=item.nodeid, source=declared_at(item), name=name, example_kwargs=example_kwargs,
        on_stage=_progress(item, target.id),
        prebuild=tuple(TARGETS[t] for t in siblings if t != target.id))
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
