"""pytest wiring: options, marker, fixtures, config-declared items, the session. Logic lives elsewhere."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_inferencecheck.checking.seed import seed_torch
from pytest_inferencecheck.config import settings
from pytest_inferencecheck.config.section import TABLE, read_table
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.gate.step import check_remote
from pytest_inferencecheck.gate.verdict import Gate
from pytest_inferencecheck.host import prewarm
from pytest_inferencecheck.pytest_plugin import hookspecs as newhooks
from pytest_inferencecheck.pytest_plugin import marker, sharding
from pytest_inferencecheck.pytest_plugin.config_items import ConfigModelItem, ConfigModels
from pytest_inferencecheck.pytest_plugin.item_check import (
    GATE,
    RESULTS,
    SETTINGS,
    TARGET_FIXTURE,
    USER_PROPERTY,
    remember_calls,
    run_check,
    store_of,
)
from pytest_inferencecheck.pytest_plugin.marker import ItemSpec
from pytest_inferencecheck.pytest_plugin.session import InferenceCheckSession
from pytest_inferencecheck.support import pairs, signals

_RESTORE_SIGTERM = pytest.StashKey[Any]()
SPEC_FIXTURE = "_inference_check_spec"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Add pytest-inferencecheck's own hooks."""
    pluginmanager.add_hookspecs(newhooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    """All options in one group, defined once in `settings`."""
    group = parser.getgroup("inferencecheck", "deployment checks against PyTorch's inference "
                                              "recommendations (pytest-inferencecheck)")
    settings.add_options(group.addoption)


def config_path(config: pytest.Config) -> Path:
    """The pyproject.toml that holds `[tool.inferencecheck]` for this run."""
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    return config.rootpath / "pyproject.toml"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, resolve settings (errors name their source), start the session."""
    config.addinivalue_line("markers", marker.DOC)
    config.stash[sharding.STARTED] = time.monotonic()
    path = config_path(config)
    try:
        table = config.stash[sharding.TABLE] = read_table(path)
        s = config.stash[SETTINGS] = settings.resolve(vars(config.option), table,
                                                      f"{TABLE} in {path}")
        # a broken baseline stops the run up front (an update replaces it)
        config.stash[GATE] = Gate.from_settings(s, config.rootpath)
        if s.enabled:
            check_remote(s)
    except InferenceCheckError as exc:
        raise pytest.UsageError(f"pytest-inferencecheck: {exc}") from None
    if s.enabled:  # CI's cancel (SIGTERM) ends a checking run as Ctrl-C does
        config.stash[_RESTORE_SIGTERM] = signals.terminate_as_interrupt()
        _collect_declared_models(config)
    if not hasattr(config, "workerinput"):  # only the xdist controller (or a plain run) reports
        config.pluginmanager.register(InferenceCheckSession(config), "inferencecheck-session")
    controller = getattr(config.option, "numprocesses", None) and not hasattr(config,
                                                                             "workerinput")
    if s.enabled and s.level == "full" and not config.option.collectonly and not controller:
        prewarm.probe_cpu(store_of(config))  # nothing compiles at the quick level


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The torch and ExecuTorch pair this run checks with, and a warning on an untested one."""
    s = config.stash.get(SETTINGS, None)
    if s is None or not s.enabled:
        return []
    line, tested = pairs.header()
    lines = [f"inferencecheck: {line}" if tested else f"inferencecheck: WARNING: {line}"]
    missed = None if hasattr(config, "workerinput") else _declared_models_outside(config)
    if missed is not None:
        lines.append(f"inferencecheck: the models declared in {missed.name} are not checked: "
                     f"the paths given ({' '.join(config.args)}) do not include it; add "
                     f"{missed.name} to the command to check them")
    return lines


def pytest_unconfigure(config: pytest.Config) -> None:
    """End work still running in the background (helpers building ahead, a runner build):
    nothing may write into the store after the run, interrupted or not."""
    config.stash.get(_RESTORE_SIGTERM, lambda: None)()
    for name in ("checking.helpers", "host.cpp_build"):
        module = sys.modules.get(f"{__package__}.{name}")  # never import torch only to stop
        if module is not None:
            module.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One item per target of `deploy_target`; bad targets or options are collection errors."""
    marks = list(metafunc.definition.iter_markers(marker.NAME))
    if not marks:
        return
    mark, problem = marks[0], None
    if len(marks) > 1:  # e.g. on the class and on the method: one would silently win
        problem = (f"{metafunc.definition.nodeid} has {len(marks)} @pytest.mark.{marker.NAME} "
                   "markers (on the test, its class or module): put every target and option in "
                   "one marker")
    else:
        try:
            targets, options = marker.parse(mark.args, mark.kwargs, metafunc.definition.nodeid)
        except InferenceCheckError as exc:
            problem = str(exc)
    if problem is not None:  # failed outside the except block: the message is printed once
        pytest.fail(problem, pytrace=False)
    if SPEC_FIXTURE not in metafunc.fixturenames:
        metafunc.fixturenames.append(SPEC_FIXTURE)
    # parsed once, here: each item carries its target and options to the fixture
    metafunc.parametrize(SPEC_FIXTURE, [ItemSpec(t, options) for t in targets],
                         ids=[t.id for t in targets])


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A pyproject.toml that declares models in `[tool.inferencecheck.models]` yields items.

    The file is parsed, not searched: an inline table, dotted keys and quoted keys all declare
    models. A file that cannot be read or parsed but mentions inferencecheck is collected, so
    that its error is shown rather than its models silently dropped."""
    if file_path.name != "pyproject.toml":
        return None
    return ConfigModels.from_parent(parent, path=file_path) if _declares(file_path) else None


def _declares(path: Path) -> bool:
    """Whether a pyproject.toml declares models (or mentions us and cannot be read: collected,
    so that its error is shown)."""
    try:
        return "models" in read_table(path, check_keys=False)
    except InferenceCheckError:
        return "inferencecheck" in path.read_text(errors="replace")
    except OSError:
        return False


def _covers(args: list[str], path: Path, invocation: Path) -> bool:
    """Whether collecting `args` reaches `path` (a path among them, or a folder above it)."""
    target = path.resolve()
    for arg in args:
        given = (invocation / arg.split("::", 1)[0]).resolve()
        if given == target or given in target.parents:
            return True
    return False


def _declared_models_outside(config: pytest.Config) -> Path | None:
    """The run's pyproject.toml when it declares models that the collected paths miss."""
    path = config_path(config)
    if not path.is_file() or not _declares(path):
        return None
    return None if _covers(list(config.args), path, config.invocation_params.dir) else path


def _collect_declared_models(config: pytest.Config) -> None:
    """A run on its default paths (`testpaths`) checks the models its pyproject.toml declares
    too: a declared model is never silently left out. Paths given on the command line are
    the user's choice; the header says what they leave out."""
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS:  # xdist workers decide alike
        return
    missed = _declared_models_outside(config)
    if missed is not None:
        config.args.append(str(missed))


def _check_target(item: pytest.Item) -> str | None:
    """The deployment target an item checks; None for an item that is not a check."""
    if item.get_closest_marker(marker.NAME) is None:
        return None
    if isinstance(item, ConfigModelItem):
        return item.target
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get(SPEC_FIXTURE) if callspec else None
    return spec.target.id if spec is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply --inference-check(-only, -target): skip, or deselect, what should not run."""
    s = config.stash[SETTINGS]
    session = config.pluginmanager.get_plugin("inferencecheck-session")
    if session is not None:
        session.note_collected(items, _check_target)
    keep, drop = [], []
    for item in items:
        checked = item.get_closest_marker(marker.NAME) is not None
        target = _check_target(item)
        if (s.only and not checked) or (checked and s.targets and target not in s.targets):
            drop.append(item)
            continue
        if checked and not s.enabled:
            item.add_marker(pytest.mark.skip(
                reason=f"inference checks are off: run with --inference-check "
                       f"(or {settings.ENV_SWITCH}=1)"))
        keep.append(item)
    if s.shard is not None:  # the K-th of N parts of what is left, whole groups at a time
        keep, others = sharding.select(config, keep, s, _check_target)
        drop += others
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start what the selected checks will need (the C++ runner) while the first ones run."""
    s = session.config.stash[SETTINGS]
    if not s.enabled or session.config.option.collectonly:
        return
    targets = [_check_target(i) for i in session.items]
    remember_calls(session.config, session.items, targets)
    if s.level == "quick":
        return
    prewarm.build_runner(store_of(session.config), filter(None, set(targets)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    """Seed torch before a check's fixtures and test body build the model."""
    if item.config.stash[SETTINGS].enabled and item.get_closest_marker(marker.NAME):
        seed_torch()
    yield


@pytest.fixture
def _inference_check_spec(request: pytest.FixtureRequest) -> ItemSpec:
    """This item's target and marker options (parsed once, at collection)."""
    param = getattr(request, "param", None)
    if param is None:
        pytest.fail(f"the inference_check fixture needs @pytest.mark.{marker.NAME}(...) on "
                    f"{request.node.nodeid} to know the deployment target (so does "
                    f"{TARGET_FIXTURE})", pytrace=False)
    return param


@pytest.fixture
def inference_check_target(_inference_check_spec: ItemSpec) -> str:
    """The deployment target of this item (set by `deploy_target`)."""
    return _inference_check_spec.target.id


@pytest.fixture
def inference_check(request: pytest.FixtureRequest, _inference_check_spec: ItemSpec) -> Any:
    """`inference_check(model, example_inputs, *, name=None, example_kwargs=None, **options)`
    checks the model for this item's target; `options` override the marker's."""
    target, options = _inference_check_spec.target, _inference_check_spec.options

    def run(model: Any, example_inputs: Any, *, name: str | None = None,
            example_kwargs: dict | None = None, **overrides: Any) -> Any:
        problem = None
        if "target" in overrides:
            problem = (f"inference_check({request.node.nodeid}): target={overrides['target']!r} "
                       f"cannot be given here: each item's target comes from "
                       f"@pytest.mark.{marker.NAME}(...) (this item checks {target.id!r})")
        else:
            try:  # the call's door: its options validated once, over the marker's
                opts = options.overridden(overrides, "this call")
                return run_check(request.node, model, example_inputs, target, opts, name=name,
                                 example_kwargs=example_kwargs)
            except InferenceCheckError as exc:  # bad arguments to the fixture: the user's to fix
                problem = f"inference_check({request.node.nodeid}): {exc}"
        pytest.fail(problem, pytrace=False)

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Attach results to the report (they travel to the xdist controller); catch unused markers."""
    outcome = yield
    report = outcome.get_result()
    if call.when != "call":
        return
    results = item.stash.get(RESULTS, [])
    if results:
        report.user_properties.append((USER_PROPERTY, [r.to_dict() for r in results]))
    elif item.get_closest_marker(marker.NAME) and report.passed:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} is marked @pytest.mark.{marker.NAME} but never called "
                           "inference_check(model, example_inputs): nothing was checked")
