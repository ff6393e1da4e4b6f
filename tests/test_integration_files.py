"""The Actions workflows, the composite action and the pre-commit hooks: parsed and exercised."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def test_own_ci_runs_the_ci_script_on_push_and_pull_request():
    wf = load(".github/workflows/ci.yml")
    assert {"push", "pull_request"} <= set(wf[True])  # YAML reads the key `on` as True
    steps = wf["jobs"]["test"]["steps"]
    assert any(s.get("run") == "bash .ci/run" for s in steps)


def _no_inputs_in_scripts(steps: list[dict]) -> None:
    for step in steps:
        assert "${{ inputs." not in step.get("run", ""), step.get("name")


def test_reusable_gate_workflow():
    wf = load(".github/workflows/inference-check.yml")
    call = wf[True]["workflow_call"]
    assert {"python-version", "torch-version", "extras", "pytest-args"} <= set(call["inputs"])
    steps = wf["jobs"]["inference-check"]["steps"]
    _no_inputs_in_scripts(steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert "inferencecheck-report.json" in upload["with"]["path"]
    assert "inferencecheck-junit.xml" in upload["with"]["path"]
    check = next(s for s in steps if s.get("name") == "Deployment checks")
    assert "--inference-check-json" in check["run"] and check["env"]["INFERENCECHECK"] == "1"


def test_composite_action():
    action = load("action.yml")
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    _no_inputs_in_scripts(steps)
    assert all(s.get("shell") == "bash" for s in steps if "run" in s)
    assert {"torch-version", "pytest-args", "extras"} <= set(action["inputs"])


def test_pre_commit_manifest():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    lint = hooks["inferencecheck-lint"]
    assert lint["language"] == "script" and lint["types"] == ["python"]
    assert os.access(ROOT / lint["entry"], os.X_OK)
    full = hooks["inferencecheck"]
    assert full["pass_filenames"] is False and set(full["stages"]) <= {"pre-push", "manual"}
    assert full["language"] == "system"
    quick = hooks["inferencecheck-quick"]  # every commit that touches Python, never compiles
    assert quick["stages"] == ["pre-commit"] and quick["types"] == ["python"]
    assert "--inference-check-level=quick" in quick["entry"] and not quick.get("always_run")


@pytest.mark.slow
def test_pre_commit_try_repo_runs_the_lint_hook(tmp_path):
    if shutil.which("git") is None:  # pragma: no cover
        pytest.skip("git is needed by pre-commit")
    pre_commit = Path(os.sys.executable).parent / "pre-commit"
    work = tmp_path / "model-repo"
    work.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (work / "deploy.py").write_text("import torch\nm = torch.jit.script(model)\n")
    (work / "fine.py").write_text("import torch\nep = torch.export.export(model, (x,))\n")
    subprocess.run(["git", "add", "."], cwd=work, check=True)
    out = subprocess.run([str(pre_commit), "try-repo", str(ROOT), "inferencecheck-lint",
                          "--files", "deploy.py", "fine.py"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "deploy.py:2:5: IC101" in out.stdout
    assert "fine.py" not in out.stdout.split("inferencecheck lint")[-1].replace("Found", "")
    assert not (tmp_path / "cache").exists() or not any(
        "torch" in p.name for p in (tmp_path / "cache").rglob("site-packages/*"))


@pytest.mark.parametrize("path, steps_of", [
    (".github/workflows/inference-check.yml", lambda d: d["jobs"]["inference-check"]["steps"]),
    ("action.yml", lambda d: d["runs"]["steps"]),
])
def test_the_gate_restores_and_saves_the_artifact_store(path, steps_of):
    steps = steps_of(load(path))
    names = [s.get("name") for s in steps]
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    # restored before anything runs, so a run with unchanged models compiles nothing
    assert names.index(cache["name"]) < names.index("Deployment checks")
    key = cache["with"]["key"]
    for part in ("runner.os", "inputs.torch-version", "hashFiles(inputs.model-sources)"):
        assert part in key
    # on a miss, the newest store of this OS and torch: only what changed is rebuilt
    assert key.startswith(cache["with"]["restore-keys"].strip())
    run = next(s for s in steps if s.get("name") == "Deployment checks")["run"]
    cached = {p.replace("~", "$HOME") for p in cache["with"]["path"].split()}
    exported = {line.split("=", 1)[1].strip('"') for line in run.splitlines()
                if line.strip().startswith("export ") and "CACHE_DIR" in line}
    assert cached == exported  # the directories the plugin writes are the ones saved
