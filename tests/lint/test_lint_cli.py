"""The linter where users run it: paths from the repository root, config found from the linted
path, ruff's selection and file options, stdin, statistics, and the hook on a bare Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repo_sources import NO_TOML

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "hooks" / "inferencecheck-lint"


def lint(*args: str, cwd: Path, env: dict | None = None,
         stdin: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "GITHUB_WORKSPACE"}
    return subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "lint", *args],
                          capture_output=True, text=True, cwd=cwd, input=stdin,
                          env={**base, **(env or {})})


@pytest.fixture
def repo(tmp_path):
    """A model repository: config at the root, code in subfolders."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.inferencecheck.lint]\nignore = ["IC3"]\n'
        '[tool.inferencecheck.lint.paths]\n"src/mobile/*" = "mobile-ios"\n')
    (tmp_path / "src" / "mobile").mkdir(parents=True)
    (tmp_path / "src" / "mobile" / "export.py").write_text(
        "import torch\nm = torch.compile(model)\n")
    (tmp_path / "src" / "legacy.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
        "    def forward(self, x):\n        print(x)\n        return torch.jit.script(x)\n")
    return tmp_path


# -- 1. paths from the repository root, config from the linted path ------------------------
def test_github_paths_start_at_the_workspace_from_a_subfolder(repo):
    out = lint("--output-format", "github", "legacy.py", cwd=repo / "src",
               env={"GITHUB_WORKSPACE": str(repo)})
    assert "file=src/legacy.py," in out.stdout, out.stdout
    sarif = json.loads(lint("--output-format", "sarif", "legacy.py", cwd=repo / "src",
                            env={"GITHUB_WORKSPACE": str(repo)}).stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]}
    assert uris == {"src/legacy.py"}


def test_text_paths_start_here_and_machine_paths_at_the_config_root(repo):
    out = lint("legacy.py", cwd=repo / "src")  # ruff's text output: from the current folder
    assert out.stdout.startswith("legacy.py:8:16: IC101"), out.stdout
    data = json.loads(lint("--output-format", "json", "legacy.py", cwd=repo / "src").stdout)
    assert [f["path"] for f in data["findings"]] == ["src/legacy.py"]  # from the project root
    above = lint(str(repo / "src" / "legacy.py"), cwd=repo.parent)
    assert above.stdout.startswith(f"{repo.name}/src/legacy.py:8:16: IC101"), above.stdout


def test_config_is_found_from_the_linted_path_from_a_subfolder(repo):
    out = lint("--output-format", "json", "mobile", cwd=repo / "src")  # globs: from the config
    assert [f["path"] for f in json.loads(out.stdout)["findings"]] == ["src/mobile/export.py"]
    assert "mobile/export.py:2:5: IC201" in lint("mobile", cwd=repo / "src").stdout
    elsewhere = lint(str(repo / "src" / "mobile"), cwd=Path("/"))
    assert "IC201" in elsewhere.stdout  # from outside the repository too


def test_nearest_config_with_the_table_wins(repo):
    sub = repo / "src" / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[project]\nname = "not-ours"\n')  # no table: skipped
    (sub / "a.py").write_text("import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                              "    def forward(self, x):\n        print(x)\n        return x\n")
    assert "IC301" not in lint("src/sub/a.py", cwd=repo).stdout  # the root's ignore applies
    (sub / "pyproject.toml").write_text('[tool.inferencecheck.lint]\nselect = ["IC3"]\n')
    out = lint("src/sub/a.py", cwd=repo)
    assert "src/sub/a.py:7:9: IC301" in out.stdout, out.stdout


# -- 2. character columns and end positions ------------------------------------------------
def test_columns_are_characters_with_end_positions(tmp_path):
    (tmp_path / "u.py").write_text('import torch\nlabel = "ééé—日本"; t = torch.jit.trace(m)\n',
                                   encoding="utf-8")
    data = json.loads(lint("--output-format", "json", "u.py", cwd=tmp_path).stdout)
    (f,) = data["findings"]
    assert (f["line"], f["col"], f["end_line"], f["end_col"]) == (2, 23, 2, 41)
    gh = lint("--output-format", "github", "u.py", cwd=tmp_path).stdout
    assert "line=2,col=23,endLine=2,endColumn=41," in gh
    sarif = json.loads(lint("--output-format", "sarif", "u.py", cwd=tmp_path).stdout)
    region = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 23, "endLine": 2, "endColumn": 41}


# -- 3. selection as in ruff ---------------------------------------------------------------
def test_command_line_select_overrides_the_config_ignore(repo):
    assert "IC301" not in lint("src", cwd=repo).stdout  # config: ignore IC3
    out = lint("--select", "IC3", "src", cwd=repo)
    assert "IC301" in out.stdout and "IC101" not in out.stdout, out.stdout


def test_extend_select_and_all_and_specificity(repo, tmp_path):
    out = lint("--extend-select", "IC301", "src", cwd=repo)  # more specific than ignore IC3
    assert "IC301" in out.stdout and "IC101" in out.stdout
    (tmp_path / "np.py").write_text("import numpy as np\nfrom torch import nn\n\n\n"
                                    "class M(nn.Module):\n    def forward(self, x):\n"
                                    "        return np.exp(x)\n")
    assert "IC305" not in lint("np.py", cwd=tmp_path).stdout  # off by default
    assert "IC305" in lint("--select", "ALL", "np.py", cwd=tmp_path).stdout
    assert lint("--select", "IC8", "np.py", cwd=tmp_path).returncode == 2


def test_an_empty_selection_is_an_error_not_a_silent_pass(tmp_path):
    (tmp_path / "a.py").write_text("import torch\ntorch.jit.script(m)\n")
    out = lint("--select", "", "a.py", cwd=tmp_path)
    assert out.returncode == 2 and "--select names no rule" in out.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.inferencecheck.lint]\nselect = []\n")
    out = lint("a.py", cwd=tmp_path)
    assert out.returncode == 2 and "select names no rule" in out.stderr


def test_exclude_extend_exclude_and_force_exclude(repo):
    (repo / "src" / "generated").mkdir()
    (repo / "src" / "generated" / "gen.py").write_text("import torch\ntorch.jit.save(m, 'x')\n")
    assert "gen.py" in lint(".", cwd=repo).stdout
    assert "gen.py" not in lint("--extend-exclude", "generated", ".", cwd=repo).stdout
    named = lint("--extend-exclude", "generated", "src/generated/gen.py", cwd=repo)
    assert "gen.py" in named.stdout  # a file named explicitly is linted ...
    forced = lint("--extend-exclude", "generated", "--force-exclude", "src/generated/gen.py",
                  cwd=repo)
    assert forced.returncode == 0 and "gen.py" not in forced.stdout  # ... unless forced
    (repo / "pyproject.toml").write_text(
        '[tool.inferencecheck.lint]\nextend-exclude = ["src/generated/*"]\n')
    assert "gen.py" not in lint(".", cwd=repo).stdout
    (repo / "build").mkdir()  # excluded by default ...
    (repo / "build" / "b.py").write_text("import torch\ntorch.jit.save(m, 'x')\n")
    assert "b.py" not in lint(".", cwd=repo).stdout
    replaced = lint("--exclude", "nothing", ".", cwd=repo).stdout  # ... until --exclude replaces
    assert "build/b.py" in replaced and "gen.py" not in replaced  # extend-exclude still holds


def test_per_file_ignores_in_config_and_on_the_command_line(repo):
    (repo / "pyproject.toml").write_text(
        '[tool.inferencecheck.lint.per-file-ignores]\n"src/legacy.py" = ["IC101"]\n')
    out = lint(".", cwd=repo).stdout
    assert "legacy.py:8:16: IC101" not in out and "legacy.py:7:9: IC301" in out
    out = lint("--per-file-ignores", "legacy.py:IC3", ".", cwd=repo).stdout  # replaces config
    assert "IC101" in out and "IC301" not in out
    out = lint("--extend-per-file-ignores", "*.py:IC2", ".", cwd=repo).stdout
    assert "IC201" not in out and "IC101" not in out
    assert lint("--per-file-ignores", "nocolon", ".", cwd=repo).returncode == 2


def test_statistics(repo):
    out = lint("--statistics", "--select", "ALL", ".", cwd=repo)
    assert out.returncode == 1
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert ["    1", "IC101", "torch-jit-script"] in rows and all(len(r) == 3 for r in rows)
    data = json.loads(lint("--statistics", "--output-format", "json", ".", cwd=repo).stdout)
    assert {"code": "IC201", "name": "server-api-in-device-path", "count": 1} in data


def test_stdin_with_stdin_filename_uses_that_files_config(repo):
    source = "import torch\nm = torch.compile(model)\n"
    out = lint("-", "--stdin-filename", "src/mobile/new.py", cwd=repo, stdin=source)
    assert out.returncode == 1 and "src/mobile/new.py:2:5: IC201" in out.stdout, out.stdout
    bare = lint("--stdin-filename", "src/other.py", cwd=repo, stdin=source)
    assert bare.returncode == 0 and bare.stdout == "All checks passed!\n"  # ruff's words
    unnamed = lint("-", cwd=repo, stdin="import torch\ntorch.jit.load('x')\n")
    assert "-:2:1: IC104" in unnamed.stdout
    assert lint("-", "src", cwd=repo, stdin="").returncode == 2


def test_version_and_subcommand_usage_on_errors(tmp_path):
    out = lint("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("inferencecheck lint ")
    bad = lint("--bogus", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: inferencecheck lint ") and "--bogus" in bad.stderr


# -- 4. the hook on a Python without a TOML parser -------------------------------------------


def hook(*args: str, cwd: Path, shim: Path) -> subprocess.CompletedProcess:
    """Run the pre-commit hook script as pre-commit does, with tomllib and tomli made
    unimportable (Python 3.10 without tomli, as on Ubuntu 22.04)."""
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(NO_TOML)
    return subprocess.run(["sh", str(HOOK), *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(shim),
                               "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})


def hook_repo(root: Path, pyproject: str) -> Path:
    """A repository with a pyproject.toml and one file the hook flags (IC101 at 2:5)."""
    work = root / "repo"
    work.mkdir()
    (work / "pyproject.toml").write_text(pyproject)
    (work / "deploy.py").write_text("import torch\nm = torch.jit.script(model)\n")
    return work


def test_hook_runs_without_a_toml_parser_when_there_is_no_table(tmp_path):
    work = hook_repo(tmp_path, '[project]\nname = "models"\n')
    out = hook("deploy.py", cwd=work, shim=tmp_path / "shim")
    assert out.returncode == 1 and "deploy.py:2:5: IC101" in out.stdout, out.stderr


def test_hook_says_what_to_do_when_a_table_needs_a_toml_parser(tmp_path):
    work = hook_repo(tmp_path, '[tool.inferencecheck.lint]\nignore = ["IC1"]\n')
    out = hook("deploy.py", cwd=work, shim=tmp_path / "shim")
    assert out.returncode == 2
    assert "pip install tomli" in out.stderr and "Python 3.11+" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_hook_applies_excludes_to_the_files_pre_commit_names(tmp_path):
    work = tmp_path / "repo"
    (work / "gen").mkdir(parents=True)
    (work / "gen" / "x.py").write_text("import torch\nm = torch.jit.script(model)\n")
    out = hook("gen/x.py", cwd=work, shim=tmp_path / "shim")
    assert out.returncode == 1  # no config: nothing excludes it
    (work / "pyproject.toml").write_text('[tool.inferencecheck.lint]\nextend-exclude = ["gen"]\n')
    out = subprocess.run(["sh", str(HOOK), "gen/x.py"], capture_output=True, text=True, cwd=work)
    assert out.returncode == 0 and "IC101" not in out.stdout, out.stdout


def test_crlf_bom_and_file_noqa_are_read_as_python_reads_them(tmp_path):
    (tmp_path / "crlf.py").write_bytes(
        '\ufeffimport torch\r\nx = "é"; torch.jit.load("m")\r\ntorch.jit.load("m")  # noqa\r\n'
        .encode("utf-8"))
    out = lint("crlf.py", cwd=tmp_path)
    assert out.stdout.startswith("crlf.py:2:10: IC104"), out.stdout
    assert "crlf.py:3:" not in out.stdout
    # a file that opts out entirely is skipped before it is parsed, as flake8 does
    (tmp_path / "skipped.py").write_text("# inferencecheck: noqa\ndef broken(:\n")
    assert lint("skipped.py", cwd=tmp_path).returncode == 0


def test_lint_runs_on_the_standard_library_alone(tmp_path):
    # The reusable workflow installs the package --no-deps for its lint job: no torch, no
    # Jinja2, no pytest. `python -S` leaves site-packages out, as that install would.
    (tmp_path / "m.py").write_text("import torch\n\nclass M(torch.nn.Module):\n"
                                   "    def forward(self, x):\n        print(x)\n"
                                   "        return x\n")
    run = subprocess.run([sys.executable, "-S", "-m", "pytest_inferencecheck", "lint", "m.py"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    assert run.returncode == 1, run.stderr
    assert "m.py:5:9: IC301" in run.stdout and "Traceback" not in run.stderr


def test_show_files_lists_what_a_run_would_lint(repo):
    (repo / "build").mkdir()
    (repo / "build" / "gen.py").write_text("x = 1\n")  # excluded by default
    out = lint("--show-files", cwd=repo)
    assert out.returncode == 0
    assert out.stdout.splitlines() == [str(repo / "src" / "legacy.py"),
                                       str(repo / "src" / "mobile" / "export.py")]


def test_show_settings_says_where_the_settings_come_from(repo):
    out = lint("--show-settings", "--extend-select", "IC301", "src/mobile/export.py", cwd=repo)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"Resolved settings for: {repo / 'src' / 'mobile' / 'export.py'}"
    assert lines[1] == f"Settings path: {repo / 'pyproject.toml'}: [tool.inferencecheck.lint]"
    assert "target = mobile-ios" in lines
    enabled = next(line for line in lines if line.startswith("enabled = "))
    assert "'IC301'" in enabled and "'IC302'" not in enabled and "'IC101'" in enabled


def test_show_settings_names_the_cache_a_run_writes(repo, tmp_path_factory):
    """From a folder outside the project the cache is the current project's, as in ruff: the
    settings shown must say where a run really keeps it (they named the linted path's)."""
    here = tmp_path_factory.mktemp("elsewhere")
    target = str(repo / "src" / "legacy.py")
    out = lint("--show-settings", target, cwd=here)
    [line] = [line for line in out.stdout.splitlines() if line.startswith("cache_dir = ")]
    assert not (here / ".inferencecheck_lint_cache").exists()
    lint(target, cwd=here)
    assert line == f"cache_dir = {here / '.inferencecheck_lint_cache'}"
    assert (here / ".inferencecheck_lint_cache").is_dir()


# -- an explicit --config is read whole (issue 31) ------------------------------------------------
def test_an_explicit_config_is_used(repo):
    (repo / "ci.toml").write_text('[tool.inferencecheck.lint]\nselect = ["IC1"]\n')
    out = lint("--config", "ci.toml", "src", cwd=repo)
    assert "IC101" in out.stdout and "IC2" not in out.stdout and out.returncode == 1


@pytest.mark.parametrize("text, says", [
    ('[tool.inferencecheck.lint\nselect = ["IC1"]\n', "bad.toml: invalid TOML: "),
    ("[lint]\nselect = ['IC1']\n", "bad.toml: it has no [tool.inferencecheck] table, so nothing "
                                   "in it configures the linter (a ruff.toml-style file is not "
                                   "read)"),
    ("x = = 1\n", "bad.toml: invalid TOML: "),
])
def test_an_explicit_config_that_cannot_be_used_is_a_usage_error(repo, text, says):
    # Issue 31: an invalid or ruff.toml-style --config was silently ignored (the defaults ran)
    (repo / "bad.toml").write_text(text)
    out = lint("--config", "bad.toml", "src", cwd=repo)
    assert out.returncode == 2, out.stdout + out.stderr
    assert says in out.stderr, out.stderr
    if "TOML" in says:
        assert "(at line 1, column" in out.stderr  # where in the file
    assert out.stdout == ""
