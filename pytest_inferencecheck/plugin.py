"""pytest wiring: options, marker, fixtures, config-declared items, the session. Logic lives elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import baseline, marker, newhooks, settings
from .config_file import TABLE, read_table
from .config_items import ConfigModelItem, ConfigModels
from .errors import InferenceCheckError
from .harness import RESULTS, SETTINGS, USER_PROPERTY, run_check
from .session import InferenceCheckSession

TARGET_FIXTURE = "inference_check_target"


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
    path = config_path(config)
    try:
        table = read_table(path)
        s = config.stash[SETTINGS] = settings.resolve(vars(config.option), table,
                                                      f"{TABLE} in {path}")
        if s.baseline and not s.update_baseline:  # a broken baseline stops the run up front
            baseline.load(config.rootpath / s.baseline)
    except InferenceCheckError as exc:
        raise pytest.UsageError(f"pytest-inferencecheck: {exc}") from None
    if not hasattr(config, "workerinput"):  # only the xdist controller (or a plain run) reports
        config.pluginmanager.register(InferenceCheckSession(config), "inferencecheck-session")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One item per target of `deploy_target`; bad targets or options are collection errors."""
    mark = metafunc.definition.get_closest_marker(marker.NAME)
    if mark is None:
        return
    try:
        targets, _ = marker.parse(mark.args, mark.kwargs, metafunc.definition.nodeid)
    except InferenceCheckError as exc:
        pytest.fail(str(exc), pytrace=False)
    if TARGET_FIXTURE not in metafunc.fixturenames:
        metafunc.fixturenames.append(TARGET_FIXTURE)
    metafunc.parametrize(TARGET_FIXTURE, targets, ids=list(targets))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A pyproject.toml that declares models in `[tool.inferencecheck.models]` yields items."""
    if file_path.name == "pyproject.toml" and "inferencecheck.models" in file_path.read_text(
            errors="replace"):
        return ConfigModels.from_parent(parent, path=file_path)
    return None


def _item_target(item: pytest.Item) -> str | None:
    if isinstance(item, ConfigModelItem):
        return item.target
    callspec = getattr(item, "callspec", None)
    return callspec.params.get(TARGET_FIXTURE) if callspec else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply --inference-check(-only, -target): skip, or deselect, what should not run."""
    s = config.stash[SETTINGS]
    keep, drop = [], []
    for item in items:
        checked = item.get_closest_marker(marker.NAME) is not None
        target = _item_target(item) if checked else None
        if (s.only and not checked) or (checked and s.targets and target not in s.targets):
            drop.append(item)
            continue
        if checked and not s.enabled:
            item.add_marker(pytest.mark.skip(
                reason=f"inference checks are off: run with --inference-check "
                       f"(or {settings.ENV_SWITCH}=1)"))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def inference_check_target(request: pytest.FixtureRequest) -> str:
    """The deployment target of this item (set by `deploy_target`)."""
    param = getattr(request, "param", None)
    if param is None:
        pytest.fail(f"{TARGET_FIXTURE} is only set for tests marked "
                    f"@pytest.mark.{marker.NAME}(...)", pytrace=False)
    return param


@pytest.fixture
def inference_check(request: pytest.FixtureRequest) -> Any:
    """`inference_check(model, example_inputs, **overrides)` checks the model for this item's target."""
    mark = request.node.get_closest_marker(marker.NAME)
    if mark is None:
        pytest.fail(f"the inference_check fixture needs @pytest.mark.{marker.NAME}(...) on "
                    f"{request.node.nodeid} to know the deployment target", pytrace=False)
    _, options = marker.parse(mark.args, mark.kwargs, request.node.nodeid)
    target = request.getfixturevalue(TARGET_FIXTURE)

    def run(model: Any, example_inputs: Any, **overrides: Any) -> Any:
        try:
            return run_check(request.node, model, example_inputs, target, options, **overrides)
        except InferenceCheckError as exc:  # bad arguments to the fixture: the user's to fix
            pytest.fail(f"inference_check({request.node.nodeid}): {exc}", pytrace=False)

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
