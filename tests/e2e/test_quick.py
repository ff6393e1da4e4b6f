"""The quick level (issue 13): facts and the row in seconds, nothing compiled, and every output
says `quick` so that a quick pass never reads as a full one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from pytest_inferencecheck.reporters.json_report import SCHEMA_FILE

from repo_sources import MODELS

ROOT = Path(__file__).resolve().parents[2]

CLEAN = "        return torch.relu(self.lin(x))"
# the clean model with a print added to its forward: one graph break
BREAKS = MODELS.replace(CLEAN, "        print('hi')  # the added break\n" + CLEAN)
BREAK_LINE = BREAKS.splitlines().index("        print('hi')  # the added break") + 1

TESTS = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target("server-x86-python", "server-x86-cpp", "mobile-android")
def test_net(inference_check):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="net")
'''


@pytest.fixture
def repo(pytester, tmp_path, monkeypatch):
    pytester.makepyfile(mymodels=MODELS, test_m=TESTS)
    pytester.syspathinsert()
    monkeypatch.setenv("INFERENCECHECK_CACHE_DIR", str(tmp_path / "store"))  # nothing reused
    return pytester


def quick(repo, *args: str):
    return repo.runpytest("-p", "no:cacheprovider", "--inference-check",
                          "--inference-check-level=quick", "--inference-check-json=r.json",
                          "--inference-check-junit=r.xml", *args)


def test_a_clean_model_passes_quick_with_nothing_built(repo):
    result = quick(repo)
    result.assert_outcomes(passed=3)
    report = json.loads((repo.path / "r.json").read_text())
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    by = {r["target"]: r for r in report["results"]}
    assert {r["level"] for r in by.values()} == {"quick"}
    assert [by[t]["recommendation"]["row"] for t in ("server-x86-python", "server-x86-cpp",
                                                     "mobile-android")] == [3, 6, 1]
    for r in by.values():  # no artifact: nothing compiled, lowered or run, and it says so
        built = [s for s in r["stages"] if s["name"] not in {"eager", "graph_breaks", "export"}]
        assert built and all(s["status"] == "skipped" for s in built)
        assert r["numerics"] is None and r["latency"] is None and r["artifacts"] == []
        assert any("quick level" in n for n in r["notes"])
    assert "passed (quick)" in result.stdout.str()  # the summary's outcome column
    names = [c.get("name") for c in ET.parse(repo.path / "r.xml").getroot().iter("testcase")]
    assert all(n.endswith(" [quick]") for n in names)
    assert not (Path(os.environ["INFERENCECHECK_CACHE_DIR"]) / "v1" / "entries" / "aoti").exists()


def test_a_break_added_to_forward_fails_the_cpp_item_quickly(repo):
    repo.makepyfile(mymodels=BREAKS)
    result = quick(repo, "-v")
    # row 6 has no fallback; row 1 lists the break for information (ExecuTorch's export is
    # not Dynamo), and row 3 moves to row 4
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*net on server-x86-cpp: row 6 -> aoti-cpp: FAILED (quick level: nothing built or run)*",
        f"*FAILED (row 6, stage graph_breaks) at mymodels.py:{BREAK_LINE}: 1 graph break; row 6*"])
    by = {r["target"]: r for r in json.loads((repo.path / "r.json").read_text())["results"]}
    assert by["server-x86-cpp"]["level"] == "quick"
    assert by["server-x86-python"]["recommendation"]["row"] == 4  # moved off AOTI, said so
    mobile = by["mobile-android"]
    assert mobile["outcome"] == "passed" and mobile["graph_breaks"]["decides"] is False
    assert mobile["graph_breaks"]["breaks"][0]["line"] == BREAK_LINE
    rows = [line for line in result.stdout.lines
            if line.startswith("net ") and "server-x86-python" in line]  # the summary's row
    assert rows and all(line.rstrip().endswith("passed (quick)") for line in rows)


def test_the_level_comes_from_config_and_environment_and_is_validated(repo, monkeypatch):
    monkeypatch.setenv("INFERENCECHECK_LEVEL", "quick")
    result = repo.runpytest("-p", "no:cacheprovider", "--inference-check",
                            "--inference-check-json=r.json")
    result.assert_outcomes(passed=3)
    assert {r["level"] for r in json.loads((repo.path / "r.json").read_text())["results"]} == \
        {"quick"}
    monkeypatch.setenv("INFERENCECHECK_LEVEL", "fast")
    bad = repo.runpytest("-p", "no:cacheprovider", "--inference-check")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*level='fast' from environment variable INFERENCECHECK_LEVEL: "
                              "the level must be one of full, quick*"])
    monkeypatch.delenv("INFERENCECHECK_LEVEL")
    repo.makepyprojecttoml('[tool.inferencecheck]\nlevel = "quick"\n')
    result = repo.runpytest("-p", "no:cacheprovider", "--inference-check",
                            "--inference-check-json=r.json")
    result.assert_outcomes(passed=3)
    assert {r["level"] for r in json.loads((repo.path / "r.json").read_text())["results"]} == \
        {"quick"}


@pytest.mark.slow
def test_pre_commit_try_repo_runs_the_quick_hook(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():  # pragma: no cover
        pytest.skip("pre-commit try-repo needs git and this project's checkout (not an sdist)")
    pre_commit = Path(sys.executable).parent / "pre-commit"
    work = tmp_path / "model-repo"
    work.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "INFERENCECHECK_CACHE_DIR": str(tmp_path / "store"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (work / "mymodels.py").write_text(BREAKS)
    (work / "test_m.py").write_text(TESTS)
    subprocess.run(["git", "add", "."], cwd=work, check=True)
    out = subprocess.run([str(pre_commit), "try-repo", str(ROOT), "inferencecheck-quick",
                          "--files", "mymodels.py", "test_m.py"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr  # the break fails server-x86-cpp
    assert "row 6 -> aoti-cpp: FAILED (quick level: nothing built or run)" in out.stdout
    assert "1 failed, 2 passed" in out.stdout


@pytest.mark.slow
def test_the_quick_hook_without_the_plugin_says_how_to_install_it(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():  # pragma: no cover
        pytest.skip("pre-commit try-repo needs git and this project's checkout (not an sdist)")
    bare = tmp_path / "bare"  # a Python on PATH without the plugin (nor pytest)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    work = tmp_path / "model-repo"
    work.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PATH": f"{bare / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (work / "test_m.py").write_text(TESTS)
    subprocess.run(["git", "add", "."], cwd=work, check=True)
    pre_commit = Path(sys.executable).parent / "pre-commit"
    out = subprocess.run([str(pre_commit), "try-repo", str(ROOT), "inferencecheck-quick",
                          "--files", "test_m.py"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "the pytest plugin is not installed for " + str(bare / "bin" / "python") in out.stdout
    assert "pip install pytest-inferencecheck" in out.stdout
    assert "unrecognized arguments" not in out.stdout


def _shared(report) -> dict[str, bool]:
    return {r["target"]: any("shared: measured once" in s["detail"] for s in r["stages"])
            for r in report["results"]}


def test_the_targets_of_one_call_share_one_trace(repo):
    """Issue 35: the first item of a marked test checks the call's three targets with one
    eager run, trace and export; the later items report those results (the same model, built
    again by the same seeded code, is recognised by value)."""
    result = quick(repo, "-v")
    result.assert_outcomes(passed=3)
    report = json.loads((repo.path / "r.json").read_text())
    assert _shared(report) == {"server-x86-python": False, "server-x86-cpp": True,
                               "mobile-android": True}
    assert [r["nodeid"].rsplit("[", 1)[1] for r in report["results"]] == [
        "server-x86-python]", "server-x86-cpp]", "mobile-android]"]


def test_a_call_that_differs_by_target_is_checked_by_each_item(repo):
    """A test whose model depends on its target (read through the fixture, or any other way)
    is not shared: each item checks the model it was given."""
    repo.makepyfile(test_m='''
import pytest, torch, mymodels

@pytest.mark.deploy_target("server-x86-python", "mobile-android")
def test_reads(inference_check, inference_check_target):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="reads")

@pytest.mark.deploy_target("server-x86-python", "mobile-android")
def test_differs(inference_check, request):
    width = 2 if request.node.callspec.id.startswith("server") else 3
    inference_check(mymodels.Clean(), (torch.ones(width, 4),), name="differs")
''')
    result = quick(repo)
    result.assert_outcomes(passed=4)
    report = json.loads((repo.path / "r.json").read_text())
    assert not any(_shared(report).values())
    assert all(any(s["name"] == "export" for s in r["stages"]) for r in report["results"])
