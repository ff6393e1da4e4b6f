"""The `inferencecheck` command in a subprocess: every command, every exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from pytest_inferencecheck import TABLE, TARGETS, __version__


def cli(*args: str, cwd=None, module: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest_inferencecheck"] if module else \
        [os.path.join(os.path.dirname(sys.executable), "inferencecheck")]
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def test_version_from_the_console_script_and_the_module():
    assert cli("--version", module=False).stdout.strip() == f"pytest-inferencecheck {__version__}"
    assert cli("--version").returncode == 0


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_table(fmt):
    out = cli("table", "--format", fmt)
    assert out.returncode == 0
    if fmt == "json":
        data = json.loads(out.stdout)
        assert [r["number"] for r in data["rows"]] == list(range(1, 9))
        assert set(data["targets"]) == set(TARGETS)
    else:
        assert all(r.technology in out.stdout for r in TABLE)
        assert ("| row |" in out.stdout) == (fmt == "markdown")


def test_recommend():
    out = cli("recommend", "server-cuda-python", "--graph-breaks", "0", "--aoti-unsupported")
    assert out.returncode == 0 and out.stdout.startswith("row 5:")
    out = cli("recommend", "embedded", "--graph-breaks", "3", "--format", "json")
    assert json.loads(out.stdout)["row"] == 2
    bad = cli("recommend", "sever-x86-cpp", "--graph-breaks", "0")
    assert bad.returncode == 2 and "Did you mean 'server-x86-cpp'?" in bad.stderr
    assert cli("recommend", "mac").returncode == 2  # --graph-breaks is required: usage error


def test_usage_errors_exit_2():
    assert cli().returncode == 2
    assert cli("frobnicate").returncode == 2


@pytest.fixture
def factories(tmp_path):
    (tmp_path / "zoo.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn

        class Clean(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 4)
            def forward(self, x):
                return self.lin(x)

        class Breaks(nn.Module):
            def forward(self, x):
                if x.sum() > 0:
                    x = x * 2
                return x

        def clean():
            return Clean(), (torch.ones(2, 4),)

        def breaks():
            return Breaks(), (torch.ones(3),)

        def bare():
            return Clean()

        def inputs():
            return (torch.ones(1, 4),)
    '''))
    return tmp_path


def test_run_passes_and_writes_reports(factories):
    out = cli("run", "zoo:clean", "--target", "mac,edge", "--json", "r.json", "--junit", "j.xml",
              "--atol", "1e-3", cwd=factories)
    assert out.returncode == 0, out.stderr
    assert "zoo:clean on mac [proxy]: row 8 -> eager: PASSED" in out.stdout
    assert "zoo:clean on edge: row 2 -> executorch: PASSED" in out.stdout
    report = json.loads((factories / "r.json").read_text())
    assert [r["target"] for r in report["results"]] == ["mac", "edge"]
    assert report["results"][0]["numerics"]["atol"] == 1e-3
    assert len(ET.parse(factories / "j.xml").getroot().findall(".//testsuite")) == 2


def test_run_fails_with_exit_1_and_the_explanation(factories):
    out = cli("run", "zoo:breaks", "--target", "server-x86-cpp", cwd=factories)
    assert out.returncode == 1
    assert "FAILED (row 6, stage graph_breaks)" in out.stdout and "zoo.py:" in out.stdout


def test_run_with_separate_inputs_and_strict_deviation(factories):
    ok = cli("run", "zoo:bare", "--inputs", "zoo:inputs", "--target", "mac", "--uses",
             "eager", cwd=factories)
    assert ok.returncode == 0, ok.stderr
    strict = cli("run", "zoo:bare", "--inputs", "zoo:inputs", "--target", "mac", "--uses",
                 "aoti-python", "--strict", cwd=factories)
    assert strict.returncode == 1 and "deviation: declared 'aoti-python'" in strict.stdout


@pytest.mark.parametrize("args, message", [
    (["zoo:nope", "--target", "mac"], "'zoo' has no attribute 'nope'"),
    (["zoo:bare", "--target", "mac"], "returned Clean; it must return (model, example_inputs)"),
    (["zoo:clean", "--target", "macc"], "unknown deployment target 'macc'"),
    (["zoo:clean", "--target", "mac", "--backends", "nope"], "are not registered here"),
])
def test_run_bad_input_exits_2_with_a_message(factories, args, message):
    out = cli("run", *args, cwd=factories)
    assert out.returncode == 2 and message in out.stderr
    assert "Traceback" not in out.stderr


def test_run_annotates_under_github_actions(factories, tmp_path):
    summary = tmp_path / "summary.md"
    env = dict(os.environ, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))
    out = subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "run", "zoo:breaks",
                          "--target", "server-x86-cpp"], capture_output=True, text=True,
                         cwd=factories, env=env)
    assert out.returncode == 1
    assert "::error file=zoo.py,line=14,title=graph break [GB0170]" in out.stdout
    assert "| zoo:breaks | server-x86-cpp | 6 |" in summary.read_text()
