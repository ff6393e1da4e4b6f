"""The Actions workflows, the composite action and the pre-commit hooks: parsed and exercised."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from repo_sources import NO_TOML

ROOT = Path(__file__).resolve().parents[2]


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
    _the_html_page_is_uploaded_and_linked(steps)


def _the_html_page_is_uploaded_and_linked(steps: list[dict]) -> None:
    check = next(s for s in steps if s.get("name") == "Deployment checks")
    assert "--inference-check-html=inferencecheck-report.html" in check["run"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "inferencecheck-report.html" in upload["with"]["path"] and upload["id"] == "upload"
    link = steps[steps.index(upload) + 1]
    assert link["env"]["ARTIFACT_URL"] == "${{ steps.upload.outputs.artifact-url }}"
    assert '>> "$GITHUB_STEP_SUMMARY"' in link["run"] and "always()" in link["if"]


def test_composite_action():
    action = load("action.yml")
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    _no_inputs_in_scripts(steps)
    assert all(s.get("shell") == "bash" for s in steps if "run" in s)
    assert {"torch-version", "pytest-args", "extras"} <= set(action["inputs"])
    _the_html_page_is_uploaded_and_linked(steps)
    assert action["outputs"]["html"]["value"] == "${{ steps.check.outputs.html }}"


def test_pre_commit_manifest():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    lint = hooks["inferencecheck-lint"]
    assert lint["language"] == "script" and lint["types"] == ["python"]
    assert os.access(ROOT / lint["entry"], os.X_OK)
    full = hooks["inferencecheck"]
    assert full["pass_filenames"] is False and set(full["stages"]) <= {"pre-push", "manual"}
    quick = hooks["inferencecheck-quick"]  # every commit that touches Python, never compiles
    assert quick["stages"] == ["pre-commit"] and quick["types"] == ["python"]
    assert "--inference-check-level=quick" in quick["entry"] and not quick.get("always_run")
    for hook in (full, quick):  # pytest by the Python on PATH, through a script that says
        assert hook["language"] == "script"  # how to install the plugin where it is missing
        assert os.access(ROOT / hook["entry"].split()[0], os.X_OK)


def try_repo(tmp_path: Path, files: dict[str, str], names: list[str],
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`pre-commit try-repo` of this checkout's lint hook on a fresh git repository."""
    if not (ROOT / ".git").exists():  # pragma: no cover
        pytest.skip("pre-commit try-repo needs this project's git checkout (not an sdist)")
    if shutil.which("git") is None:  # pragma: no cover
        pytest.skip("git is needed by pre-commit")
    work = tmp_path / "model-repo"
    work.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", **(env or {})}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    for name, text in files.items():
        (work / name).write_text(text)
    subprocess.run(["git", "add", "."], cwd=work, check=True)
    pre_commit = Path(os.sys.executable).parent / "pre-commit"
    return subprocess.run([str(pre_commit), "try-repo", str(ROOT), "inferencecheck-lint",
                           "--files", *names], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_pre_commit_try_repo_runs_the_lint_hook(tmp_path):
    out = try_repo(tmp_path, {"deploy.py": "import torch\nm = torch.jit.script(model)\n",
                              "fine.py": "import torch\nep = torch.export.export(model, (x,))\n"},
                   ["deploy.py", "fine.py"])
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


# -- workflow hygiene (issue 12) -----------------------------------------------------------
WORKFLOWS = [".github/workflows/ci.yml", ".github/workflows/inference-check.yml"]


@pytest.mark.parametrize("path", WORKFLOWS)
def test_workflows_are_least_privilege_and_time_limited(path):
    wf = load(path)
    assert wf["permissions"] == {"contents": "read"}
    for name, job in wf["jobs"].items():
        assert job.get("timeout-minutes"), name
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


def test_lint_job_uploads_sarif_with_the_permission_it_needs():
    wf = load(".github/workflows/inference-check.yml")
    lint = wf["jobs"]["lint"]
    assert lint["permissions"] == {"contents": "read", "security-events": "write"}
    assert wf["jobs"]["inference-check"]["permissions"] == {"contents": "read"}
    run = next(s for s in lint["steps"] if s.get("name") == "Lint (SARIF)")["run"]
    assert "--output-format sarif" in run and "--no-deps" in run  # no torch for the linter
    upload = next(s for s in lint["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] in run


@pytest.mark.parametrize("path, steps_of", [
    (".github/workflows/inference-check.yml", lambda d: d["jobs"]["inference-check"]["steps"]),
    ("action.yml", lambda d: d["runs"]["steps"]),
])
def test_artifact_names_are_unique_per_matrix_entry_and_overridable(path, steps_of):
    doc = load(path)
    upload = next(s for s in steps_of(doc) if s.get("uses", "").startswith(
        "actions/upload-artifact@"))
    name = upload["with"]["name"]
    assert "inputs.artifact-name" in name and "strategy.job-index" in name
    assert "github.job" in name and "inputs.torch-version" in name
    inputs = doc[True]["workflow_call"]["inputs"] if "jobs" in doc else doc["inputs"]
    assert inputs["artifact-name"]["default"] == ""


def _pytest_launcher(run: str) -> str:
    """The Python the gate feeds to `python -` to start pytest (between the RUN markers)."""
    lines = run.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith("<<'RUN'"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "RUN")
    return "\n".join(lines[start + 1:end])


@pytest.mark.parametrize("path, steps_of", [
    (".github/workflows/inference-check.yml", lambda d: d["jobs"]["inference-check"]["steps"]),
    ("action.yml", lambda d: d["runs"]["steps"]),
])
def test_pytest_args_are_split_as_a_shell_would(path, steps_of, tmp_path):
    """Run the gate's own launcher: `-k "not slow"` stays one argument, and nothing in the
    input is expanded or executed."""
    run = next(s for s in steps_of(load(path)) if s.get("name") == "Deployment checks")["run"]
    (tmp_path / "test_m.py").write_text("def test_fast():\n    pass\n\n"
                                        "def test_slow():\n    pass\n")
    env = {**os.environ, "PYTEST_ARGS": "-k 'not slow' -p no:cacheprovider -q $(touch pwned)"}
    out = subprocess.run([os.sys.executable, "-", ], input=_pytest_launcher(run), cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert not (tmp_path / "pwned").exists()
    # `$(touch pwned)` reached pytest as two literal path arguments, which do not exist
    assert "file or directory not found: $(touch" in out.stdout + out.stderr
    env["PYTEST_ARGS"] = "-k 'not slow' -p no:cacheprovider -q"
    out = subprocess.run([os.sys.executable, "-"], input=_pytest_launcher(run), cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "1 passed, 1 deselected" in out.stdout, out.stdout
    assert (tmp_path / "inferencecheck-report.json").exists()
    assert "No check ran." in (tmp_path / "inferencecheck-report.html").read_text()


def test_the_action_installs_into_its_own_virtual_environment():
    steps = load("action.yml")["runs"]["steps"]
    venv = next(s for s in steps if s.get("id") == "venv")
    assert "-m venv" in venv["run"]
    for step in steps:
        run = step.get("run", "")
        assert "python -m pip" not in run and " pip install" not in run.replace(
            '"${PY}" -m pip install', ""), step.get("name")
    install = next(s for s in steps if s.get("name", "").startswith("Install torch"))
    assert install["env"]["PY"] == "${{ steps.venv.outputs.python }}"


def test_readme_installs_the_cpu_build_of_torch_off_this_machine():
    from packaging.specifiers import SpecifierSet

    readme = (ROOT / "README.md").read_text()
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme
    pins = {line.split("==")[0]: line.split("==")[1] for line in
            (ROOT / ".ci" / "constraints.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    # the CPU index's build satisfies the pin, so the constraints accept it once installed
    assert "2.13.0+cpu" in SpecifierSet(f"=={pins['torch']}")


@pytest.mark.slow
def test_pre_commit_try_repo_lint_hook_without_a_toml_parser(tmp_path):
    """As on Ubuntu 22.04's python3 (3.10, no tomli): tomllib and tomli are made unimportable
    for the hook's interpreter; a pyproject.toml without our table must not stop it."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_TOML)
    out = try_repo(tmp_path, {"pyproject.toml": '[project]\nname = "models"\n',
                              "deploy.py": "import torch\nm = torch.jit.script(model)\n"},
                   ["deploy.py"], env={"PYTHONPATH": str(shim)})
    assert out.returncode == 1, out.stdout + out.stderr
    assert "deploy.py:2:5: IC101" in out.stdout
    assert "tomli" not in out.stdout


def _readme_yaml() -> list:
    """Every YAML example of the README, parsed (fragments dedented as a user pastes them)."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [yaml.safe_load(textwrap.dedent(b)) for b in blocks]


def _uses_of(doc) -> list[dict]:
    """The jobs or steps of a parsed example that use this project (workflow or action)."""
    if isinstance(doc, dict) and "jobs" in doc:
        doc = list(doc["jobs"].values())
    return [d for d in doc if isinstance(d, dict) and "pytest-inferencecheck" in d.get("uses", "")
            ] if isinstance(doc, list) else []


def test_readme_workflow_examples_use_only_real_inputs():
    """Issue 31: a README example with an input the workflow or the action does not have fails
    on GitHub; one that passes `tests/` leaves out the models declared in pyproject.toml."""
    workflow = set(load(".github/workflows/inference-check.yml")[True]["workflow_call"]["inputs"])
    action = set(load("action.yml")["inputs"])
    users = [u for doc in _readme_yaml() for u in _uses_of(doc)]
    reusable = [u for u in users if u["uses"].endswith(".yml@v0.1.0")]
    composite = [u for u in users if u not in reusable]
    assert len(reusable) >= 2 and composite, users  # the first screen's, the CI gate's, a step
    for use, inputs in [(u, workflow) for u in reusable] + [(u, action) for u in composite]:
        given = set(use.get("with", {}))
        assert given <= inputs, f"{use['uses']}: no input {sorted(given - inputs)}"
        assert "requirements" in given, "install the repository's own requirements"
        assert "tests/" not in str(use["with"].get("pytest-args", "")), use


def test_readme_hook_example_names_real_hooks_and_how_to_install_them():
    hooks = {h["id"]: h for h in load(".pre-commit-hooks.yaml")}
    configs = [d for d in _readme_yaml() if isinstance(d, dict) and "repos" in d]
    assert configs
    for config in configs:
        ids = {h["id"] for repo in config["repos"] for h in repo["hooks"]}
        assert ids <= set(hooks)
    # a pre-push hook runs only once pre-commit is installed for that hook type
    assert any("pre-push" in h.get("stages", []) for h in hooks.values())
    first_screen = (ROOT / "README.md").read_text().split("## Supported versions")[0]
    assert "pre-commit install --hook-type pre-push" in first_screen
    assert "report.html >> .gitignore" in first_screen


@pytest.mark.parametrize("path, steps_of", [
    (".github/workflows/inference-check.yml", lambda d: d["jobs"]["inference-check"]["steps"]),
    ("action.yml", lambda d: d["runs"]["steps"]),
])
def test_only_a_push_to_the_default_branch_publishes_to_the_team_store(path, steps_of, tmp_path):
    """Run the gate's own shell (up to pytest) as Actions would: remote-write `auto` is true
    only for a push to the default branch that has the signing key; pull requests, other
    branches and forks (no secret) read only; an explicit value wins."""
    doc = load(path)
    inputs = doc[True]["workflow_call"]["inputs"] if "jobs" in doc else doc["inputs"]
    assert {"remote", "remote-write", "remote-trusted-keys"} <= set(inputs)
    assert inputs["remote-write"]["default"] == "auto"
    run = next(s for s in steps_of(doc) if s.get("name") == "Deployment checks")["run"]
    shell = run.split("<<'RUN'")[0].rsplit("\n", 1)[0]  # everything before the launcher

    def write(event, ref, key, given="auto"):
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "REMOTE_WRITE": given,
               "EVENT": event, "REF": ref, "DEFAULT_BRANCH": "main",
               "INFERENCECHECK_REMOTE_SIGNING_KEY": key,
               "GITHUB_OUTPUT": str(tmp_path / "out")}
        out = subprocess.run(["bash", "-eo", "pipefail", "-c",  # as Actions runs a step
                              shell + '\necho "write=${INFERENCECHECK_REMOTE_WRITE}"'],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    pem = "-----BEGIN PRIVATE KEY-----"
    assert write("push", "refs/heads/main", pem) == "write=true"
    assert write("pull_request", "refs/pull/7/merge", pem) == "write=false"
    assert write("push", "refs/heads/feature", pem) == "write=false"
    assert write("push", "refs/heads/main", "") == "write=false"  # no key: read only
    assert write("pull_request", "refs/pull/7/merge", pem, given="true") == "write=true"
