"""Shared fixtures: each real check runs once per session, then many tests read its result."""

from __future__ import annotations

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))

from pytest_inferencecheck import check as _check  # noqa: E402

import models  # noqa: E402

pytest_plugins = ["pytester"]

# The suite runs on two xdist workers on purpose (README), so each check's latency is taken
# beside the other worker's compiles: counted as quiet here, or every run record (and every
# test of reuse) would depend on what the other worker does at that moment. The tests of the
# noise rule itself (tests/unit/checking/test_quiet_latency.py) set the default back.
os.environ["INFERENCECHECK_QUIET_LOAD"] = "1"


def _keep_libraries_in_pytester_runs() -> None:
    """pytester forgets every module imported during a test; torch imports parts of itself
    lazily and registers operator libraries that cannot be registered twice on re-import.
    Forget only user modules (the throwaway repositories pytester writes)."""
    import _pytest.pytester

    from pytest_inferencecheck.support.locations import is_user_file

    is_user_file(__file__)  # warm its cache now: later calls run while sys.modules is iterated

    def library(name: str) -> bool:
        file = getattr(sys.modules.get(name), "__file__", None)
        return file is None or not is_user_file(file)

    class KeepLibraries(_pytest.pytester.SysModulesSnapshot):
        def __init__(self, preserve=None):
            super().__init__(preserve=lambda n: library(n) or bool(preserve and preserve(n)))

    _pytest.pytester.SysModulesSnapshot = KeepLibraries


_keep_libraries_in_pytester_runs()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session", autouse=True)
def session_store(tmp_path_factory):
    """The tests' own artifact store, empty at the start of the run, and their own machine
    folder for the C++ runner (built once per worker): never the user's cache."""
    root = tmp_path_factory.mktemp("store")
    saved = {k: os.environ.get(k) for k in ("INFERENCECHECK_CACHE_DIR", "INFERENCECHECK_RUNNER_DIR")}
    os.environ["INFERENCECHECK_CACHE_DIR"] = str(root)
    os.environ["INFERENCECHECK_RUNNER_DIR"] = str(tmp_path_factory.mktemp("machine"))
    yield root
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


@pytest.fixture(scope="session")
def cpp_runner(session_store):
    """The C++ runner, built once into the session's machine folder, where every store's check
    finds it (tests of the runner itself name a folder of their own)."""
    from pytest_inferencecheck.host.cpp_build import ensure_runner

    return ensure_runner().path


@pytest.fixture
def fresh_store(tmp_path, monkeypatch, session_store):
    """An empty store for this test, so it builds and runs for real (the C++ runner is the
    machine's: `cpp_build.runner_store`)."""
    root = tmp_path / "store"
    monkeypatch.setenv("INFERENCECHECK_CACHE_DIR", str(root))
    return root


def _once(request: pytest.FixtureRequest, key: str, run):
    cache = request.config.stash.setdefault(_RESULTS, {})
    if key not in cache:
        cache[key] = run()
    return cache[key]


_RESULTS = pytest.StashKey[dict]()


@pytest.fixture
def checked(request, tmp_path_factory):
    """`checked(name)` -> the CheckResult of a named real check, computed once per session,
    each in an empty store of its own so that it builds and runs everything for real."""
    def check(*args, **kwargs):
        return _check(*args, store=tmp_path_factory.mktemp("checked-store"), **kwargs)

    runs = {
        "cnn/server-x86-python": lambda: check(models.SmallCNN(), models.cnn_inputs(),
                                               "server-x86-python"),
        "breaks/server-x86-python": lambda: check(models.ThreeBreaks(), (torch.randn(4, 8),),
                                                  "server-x86-python", uses="aoti-python"),
        "breaks/server-x86-cpp": lambda: check(models.ThreeBreaks(), (torch.randn(4, 8),),
                                               "server-x86-cpp"),
        "bert/server-x86-python": lambda: check(models.tiny_bert(), models.token_ids(),
                                                "server-x86-python", name="bert"),
        "gpt2/server-x86-python": lambda: check(models.tiny_gpt2(), models.token_ids(),
                                                "server-x86-python", name="gpt2"),
        "cnn/mac": lambda: check(models.SmallCNN(), models.cnn_inputs(), "mac"),
    }
    return lambda name: _once(request, name, runs[name])


# The files whose tests compile, lower and run the most, longest first. Under xdist the two
# workers take tests in collection order, so these start first and the short tests fill the
# end, instead of one worker finishing a four-minute test alone. Only the order between files
# changes; within a file the order (and every module-scoped fixture) stays as written.
_LONGEST_FIRST = ("test_examples.py", "test_reuse.py", "test_sound_reuse.py", "test_gate.py",
                  "test_cpp_runner.py", "test_faults.py", "test_verdict.py", "test_cli.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return _LONGEST_FIRST.index(name) if name in _LONGEST_FIRST else len(_LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
