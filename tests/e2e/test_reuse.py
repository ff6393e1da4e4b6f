"""Never compile twice: what is shared between targets and runs, and what must miss.

Real checks, real compiles, a real store on disk. Each test starts from an empty store. Every
check traces and exports afresh; what is shared is what comes after the trace (see
test_sound_reuse.py for the changes a stale entry would miss).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import subprocess
import sys

import pytest
import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.store import keys

import models

pytestmark = pytest.mark.slow

MODULE = '''
import torch
from torch import nn
import reuse_config

class Net(nn.Module):
    def __init__(self, chatty=False):
        super().__init__()
        self.lin = nn.Linear(8, 8)
        self.chatty = chatty

    def forward(self, x):
        y = torch.relu(self.lin(x))
        if self.chatty:
            print("scoring")
        return y * reuse_config.SCALE
'''


@pytest.fixture
def net_module(tmp_path, monkeypatch):
    """A model module on disk (imported as `reuse_net`) that a test can edit and reload."""
    (tmp_path / "reuse_net.py").write_text(MODULE)
    (tmp_path / "reuse_config.py").write_text(
        "import types\nSCALE = 2\nCFG = types.SimpleNamespace(scale=2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("reuse_net", "reuse_config"):
        sys.modules.pop(name, None)
    module = importlib.import_module("reuse_net")
    yield module, tmp_path
    for name in ("reuse_net", "reuse_config"):
        sys.modules.pop(name, None)


def net(module, **kwargs):
    torch.manual_seed(0)
    return module.Net(**kwargs)


def uses(result):
    return [(u.kind, u.status) for u in result.artifacts]


def details(result, name):
    return [s.detail for s in result.stages if s.name == name]


def _cnn(target, **kwargs):
    torch.manual_seed(0)
    return check(models.SmallCNN(), models.cnn_inputs(), target, **kwargs)


def test_targets_share_one_package_and_reruns_reuse_everything_after_the_trace(fresh_store):
    py, cpp, android = (_cnn(t) for t in ("server-x86-python", "server-x86-cpp",
                                          "mobile-android"))
    for r in (py, cpp, android):
        assert r.outcome == "passed", explain(r)
    assert uses(py) == [("aoti", "built"), ("run", "built")]
    # the C++ path loads the very .pt2 the Python path compiled
    assert ("aoti", "reused") in uses(cpp)
    assert {u.key for u in py.artifacts if u.kind == "aoti"} == \
        {u.key for u in cpp.artifacts if u.kind == "aoti"}
    assert uses(android)[0] == ("executorch", "built")
    # the facts are never taken from the store: each check traces and exports for itself
    for r in (py, cpp, android):
        assert [s.status for s in r.stages if s.name in ("graph_breaks", "export")] == \
            ["passed", "passed"]
        assert not any(s.detail.startswith("reused") for s in r.stages
                       if s.name in ("graph_breaks", "export"))
    # a rerun traces and exports, then builds, compiles and runs nothing: each artifact's
    # recorded run is compared with a fresh eager reference
    again = [_cnn(t) for t in ("server-x86-python", "server-x86-cpp", "mobile-android")]
    for r in again:
        assert r.outcome == "passed", explain(r)
        assert {status for _, status in uses(r)} == {"reused"}, uses(r)
        assert r.numerics.ok and r.numerics.compared == 1
        assert details(r, "run")[0].startswith("reused")
    assert again[2].executorch["delegated_nodes"] == android.executorch["delegated_nodes"]
    # as measured when it last ran, and saying so (issue 35)
    assert dataclasses.replace(again[1].latency, replayed=None) == cpp.latency
    assert again[1].latency.replayed and cpp.latency.measured_at in again[1].latency.noise


def test_a_changed_line_of_forward_misses_and_the_rerun_passes(net_module):
    module, folder = net_module
    first = check(net(module), (torch.ones(2, 8),), "server-x86-python", store=folder / "s")
    assert first.outcome == "passed", explain(first)
    (folder / "reuse_net.py").write_text(MODULE.replace("torch.relu(", "torch.tanh("))
    module = importlib.reload(module)
    second = check(net(module), (torch.ones(2, 8),), "server-x86-python", store=folder / "s")
    assert second.outcome == "passed", explain(second)
    assert ("aoti", "built") in uses(second)  # another program, another package
    assert {u.key for u in first.artifacts if u.kind == "aoti"} != \
        {u.key for u in second.artifacts if u.kind == "aoti"}


def test_a_changed_config_module_read_by_forward_misses(net_module):
    module, folder = net_module
    store = folder / "s"
    check(net(module), (torch.ones(2, 8),), "mobile-android", store=store)
    (folder / "reuse_config.py").write_text(
        "import types\nSCALE = 3\nCFG = types.SimpleNamespace(scale=2)\n")
    importlib.reload(sys.modules["reuse_config"])
    r = check(net(module), (torch.ones(2, 8),), "mobile-android", store=store)
    assert r.outcome == "passed", explain(r)
    assert uses(r) == [("executorch", "built"), ("run", "built")]  # the program holds SCALE


def test_a_config_value_changed_at_run_time_misses(net_module, monkeypatch):
    module, folder = net_module
    store = folder / "s"
    check(net(module), (torch.ones(2, 8),), "mobile-android", store=store)
    monkeypatch.setattr(sys.modules["reuse_config"], "SCALE", 5)  # no file is edited
    r = check(net(module), (torch.ones(2, 8),), "mobile-android", store=store)
    assert r.outcome == "passed", explain(r)
    assert uses(r) == [("executorch", "built"), ("run", "built")]


def test_an_attribute_that_steers_forward_is_part_of_the_key(net_module):
    module, folder = net_module
    quiet = check(net(module, chatty=False), (torch.ones(2, 8),), "server-x86-python",
                  store=folder / "s")
    chatty = check(net(module, chatty=True), (torch.ones(2, 8),), "server-x86-python",
                   store=folder / "s")
    assert quiet.graph_breaks == [] and quiet.recommendation.row == 3
    assert len(chatty.graph_breaks) == 1 and chatty.recommendation.row == 4  # its own trace


def test_a_changed_weight_misses(fresh_store):
    torch.manual_seed(0)
    model = models.SmallCNN()
    first = check(model, models.cnn_inputs(), "server-x86-python")
    with torch.no_grad():
        model.head.bias[0] += 1.0
    second = check(model, models.cnn_inputs(), "server-x86-python")
    assert second.outcome == "passed", explain(second)
    assert uses(second) == [("aoti", "built"), ("run", "built")]
    assert first.artifacts[0].key != second.artifacts[0].key


def test_options_that_change_the_program_miss_and_others_do_not(fresh_store):
    base = _cnn("server-x86-python")
    assert ("aoti", "built") in uses(base)
    batch = torch.export.Dim("batch", min=1, max=8)
    dynamic = _cnn("server-x86-python", dynamic_shapes=({0: batch},))
    assert ("aoti", "built") in uses(dynamic)
    assert dynamic.numerics.second_shape is not None and dynamic.numerics.ok
    # a looser tolerance changes the verdict's rule, not the artifact nor its recorded run
    loose = _cnn("server-x86-python", atol=1e-2)
    assert {status for _, status in uses(loose)} == {"reused"} and loose.numerics.atol == 1e-2
    # phones and edge devices with equal partitioners share one .pte; another partitioner is
    # another .pte
    xnn = _cnn("mobile-ios")
    edge = _cnn("edge")
    vulkan = _cnn("mobile-ios", executorch_partitioners=["vulkan"])
    assert ("executorch", "built") in uses(xnn) and ("executorch", "reused") in uses(edge)
    assert ("executorch", "built") in uses(vulkan)


def test_another_torch_version_misses(fresh_store, monkeypatch):
    # A second torch cannot be installed beside this one: the version string is what the keys
    # read, so it is changed here, and the keys' cache cleared.
    first = _cnn("mobile-android")
    monkeypatch.setattr(torch, "__version__", "2.99.0+other")
    keys.versions.cache_clear()
    try:
        second = _cnn("mobile-android")
    finally:
        monkeypatch.undo()
        keys.versions.cache_clear()
    assert uses(first)[0] == ("executorch", "built") and uses(second)[0] == ("executorch", "built")
    assert first.artifacts[0].key != second.artifacts[0].key


def test_a_corrupted_package_is_rebuilt_and_the_result_says_so(fresh_store):
    first = _cnn("server-x86-cpp")
    assert first.outcome == "passed", explain(first)
    (package,) = fresh_store.glob("v1/entries/aoti/*/model.pt2")
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0xFF
    package.write_bytes(bytes(data))
    second = _cnn("server-x86-cpp")
    assert second.outcome == "passed", explain(second)
    aoti = next(u for u in second.artifacts if u.kind == "aoti")
    assert aoti.status == "rebuilt" and "fails its SHA-256 checksum" in aoti.note
    assert "rebuilt" in details(second, "aoti_compile")[0]


def test_a_read_only_cache_degrades_with_a_note_and_a_correct_verdict(tmp_path):
    from filesystems import read_only

    with read_only(tmp_path / "ro") as ro:
        r = check(models.ThreeBreaks(), (torch.randn(4, 8),), "server-x86-cpp", store=ro)
    assert r.outcome == "failed" and r.failures[0].stage == "graph_breaks"
    assert any("cannot be written" in n and "not kept" in n for n in r.notes)


REPO_TEST = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target("server-x86-python", "server-x86-cpp", "mobile-android")
def test_clean(inference_check):
    inference_check(mymodels.Clean(), (torch.randn(2, 4),), name="clean")

@pytest.mark.deploy_target("server-x86-python", "server-x86-cpp", "mobile-android")
def test_wide(inference_check):
    inference_check(mymodels.Wide(), (torch.randn(2, 4),), name="wide")
'''
WIDE = '''
class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 16), nn.Linear(16, 4)
    def forward(self, x):
        return self.b(torch.relu(self.a(x)))
'''


@pytest.fixture
def two_model_repo(pytester, fresh_store):
    from repo_sources import MODELS

    pytester.makepyfile(mymodels=MODELS + WIDE)
    pytester.makepyfile(test_two=REPO_TEST)
    return pytester


def _report(pytester, *args):
    result = pytester.runpytest_subprocess("--inference-check", "--inference-check-json=r.json",
                                           "-p", "no:cacheprovider", *args)
    return result, json.loads((pytester.path / "r.json").read_text())["results"]


def test_xdist_workers_build_each_artifact_exactly_once_and_a_rerun_builds_nothing(
        two_model_repo):
    result, results = _report(two_model_repo, "-n", "2")
    result.assert_outcomes(passed=6)
    # every worker's results reach the controller's summary (one nested xdist run serves both)
    summary = " ".join(result.stdout.str().split("= inference check =")[-1].split())
    for model in ("clean", "wide"):
        for target in ("server-x86-python", "server-x86-cpp", "mobile-android"):
            assert f"{model} {target}" in summary, summary
    built = [(a["kind"], a["key"]) for r in results for a in r["artifacts"]
             if a["status"] != "reused"]
    assert len(built) == len(set(built)), built  # nothing built twice, by any worker
    kinds = sorted(k for k, _ in built)
    assert kinds.count("aoti") == 2 and kinds.count("executorch") == 2
    assert kinds.count("run") == 6
    result, again = _report(two_model_repo, "-n", "2")
    result.assert_outcomes(passed=6)
    assert {a["status"] for r in again for a in r["artifacts"]} == {"reused"}
    result.stdout.fnmatch_lines(["artifact store: * reused in *"])


def test_verbose_stage_lines_say_reused_and_the_key(two_model_repo):
    two_model_repo.runpytest_subprocess("--inference-check", "-k", "clean", "-p", "no:cacheprovider")
    result = two_model_repo.runpytest_subprocess("--inference-check", "-v", "-k", "clean",
                                                 "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*[[]server-x86-cpp[]] aoti_compile *passed*reused ????????????*",
                                 "*[[]server-x86-cpp[]] run *passed*reused ????????????:*"])


def test_no_cache_keeps_nothing(two_model_repo, fresh_store):
    # one run is enough: what it leaves in the store is what a second run could reuse
    result, results = _report(two_model_repo, "-k", "clean and python",
                              "--no-inference-check-cache")
    assert ("aoti", "built") in [(a["kind"], a["status"]) for a in results[0]["artifacts"]]
    kept = [e for e in fresh_store.glob("v1/entries/*/*") if e.parent.name != "runner"]
    assert kept == []  # (a runner carried over by the fixture is not this run's)
    result.stdout.fnmatch_lines(["artifact store: * in a temporary store (nothing kept)"])


def test_cache_dir_option_moves_the_store(two_model_repo):
    _report(two_model_repo, "-k", "clean and python", "--inference-check-cache-dir=here")
    assert list((two_model_repo.path / "here").glob("v1/entries/aoti/*/model.pt2"))
    bad = two_model_repo.runpytest_subprocess("--inference-check",
                                              "--inference-check-cache-size=lots")
    assert bad.ret == 4
    bad.stderr.fnmatch_lines(["*cache_size='lots' from command line*"])


def test_another_targets_artifact_is_built_ahead_by_a_helper_process(fresh_store):
    first = _cnn("server-x86-python", prebuild=("mobile-android", "server-x86-cpp"))
    assert first.outcome == "passed", explain(first)
    android = _cnn("mobile-android")
    assert android.outcome == "passed", explain(android)
    et = next(u for u in android.artifacts if u.kind == "executorch")
    assert et.status == "built" and "built ahead by a helper process" in et.note
    assert "built ahead" in details(android, "lower")[0]
    # the package is the first item's own: nothing is built ahead for the C++ target
    cpp = _cnn("server-x86-cpp")
    assert next(u for u in cpp.artifacts if u.kind == "aoti").status == "reused"


def test_a_helper_that_fails_leaves_the_item_to_build_and_report_the_real_error(fresh_store):
    _cnn("server-x86-python", prebuild=("mobile-android",), executorch_partitioners=["qnn"])
    android = _cnn("mobile-android", executorch_partitioners=["qnn"])
    assert android.outcome == "failed"
    (f,) = android.failures
    assert f.stage == "lower" and "the qnn partitioner cannot be created here" in f.message


def test_a_store_whose_disk_fills_up_mid_compile_still_gives_the_verdict(tmp_path):
    from filesystems import full_disk

    with full_disk(tmp_path / "tiny", "64k") as tiny:
        r = _cnn("server-x86-python", store=tiny)
        assert r.outcome == "passed", explain(r)
        aoti = next(u for u in r.artifacts if u.kind == "aoti")
        assert aoti.status == "built" and "No space left on device" in aoti.note
        assert any("cannot be written" in n for n in r.notes)


def test_two_clones_and_another_starting_folder_share_every_entry(two_model_repo, tmp_path):
    """Issue 33 (portable keys): torch writes the working directory into inductor's config
    (`xpu.cutlass_dir`) and keyed the store by its install folder, so the same test started from
    another folder, or run from a second clone, rebuilt its .pt2 and its run records."""
    first = two_model_repo.path
    clone = tmp_path / "second-clone"
    elsewhere = tmp_path / "somewhere-else"
    clone.mkdir()
    elsewhere.mkdir()
    for name in ("mymodels.py", "test_two.py"):
        (clone / name).write_text((first / name).read_text())

    def run(cwd, test_file, *options):
        report = cwd / "r.json"
        out = subprocess.run(
            [sys.executable, "-m", "pytest", str(test_file), "--inference-check", "-k", "clean",
             f"--inference-check-json={report}", "-p", "no:cacheprovider", "-q", *options],
            cwd=cwd, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        results = json.loads(report.read_text())["results"]
        verdicts = sorted((r["target"], r["outcome"], r["recommendation"]["row"],
                           r["numerics"]["ok"], r["numerics"]["max_abs_err"]) for r in results)
        return [(a["kind"], a["status"]) for r in results for a in r["artifacts"]], verdicts

    built, _ = run(first, first / "test_two.py")
    assert ("aoti", "built") in built and ("executorch", "built") in built
    # what the second clone reuses must be what it would build: its own cold run, no store
    _, cold = run(clone, clone / "test_two.py", "--no-inference-check-cache")
    for cwd, test_file in ((clone, clone / "test_two.py"), (elsewhere, first / "test_two.py")):
        again, verdicts = run(cwd, test_file)
        assert verdicts == cold, (cwd, verdicts, cold)
        assert {s for _, s in again} == {"reused"}, (cwd, again)  # nothing built again
        assert sorted(k for k, _ in again if k != "runner") == sorted(
            k for k, _ in built if k != "runner")  # (the C++ runner is one per process)
