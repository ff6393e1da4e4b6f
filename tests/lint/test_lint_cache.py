"""Each file's lint result kept between runs, and files linted in worker processes.

The rule the store follows holds here too: a reused result is exactly the result a cold run
gives. Each input of an entry's key is changed for real and the rerun compared with a cold one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_inferencecheck.lint.cache import SETTLED_NS, LintCache
from pytest_inferencecheck.lint.config import LintConfig
from pytest_inferencecheck.lint.engine import lint_paths

from filesystems import read_only

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
MODEL = ("import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
         "    def forward(self, x):\n        print(x)\n        return torch.jit.script(x)\n\n\n"
         "served = torch.compile(M())\n"
         # a finding with a fix: a Fix goes through the entries and the index and back
         "branch = torch.compile(M(), backend='ts')\n")


def lint(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items()
              if k not in ("GITHUB_WORKSPACE", "INFERENCECHECK_LINT_CACHE_DIR")}, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "lint",
                           "--output-format", "json", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def findings(run: subprocess.CompletedProcess) -> dict:
    """The whole JSON output: findings, errors, files linted."""
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


@pytest.fixture
def repo(tmp_path):
    """A small project whose files are older than `SETTLED_NS`: the index records them."""
    (tmp_path / "pyproject.toml").write_text("[tool.inferencecheck.lint]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text(MODEL)
    (tmp_path / "src" / "clean.py").write_text("x = 1\n")
    settle()
    return tmp_path


def settle() -> None:
    time.sleep(SETTLED_NS / 1e9 + 0.2)


def index(repo: Path) -> dict:
    [found] = (repo / ".inferencecheck_lint_cache").glob("*/index.json")
    return json.loads(found.read_text())


def entries(repo: Path) -> list[Path]:
    return [p for p in (repo / ".inferencecheck_lint_cache").rglob("*")
            if p.is_file() and p.parent.parent.parent.name == ".inferencecheck_lint_cache"]


def test_a_rerun_reads_every_result_from_the_cache_and_says_the_same(repo):
    cold = findings(lint("--no-cache", cwd=repo))
    assert not (repo / ".inferencecheck_lint_cache").exists()  # --no-cache keeps nothing
    first = findings(lint(cwd=repo))
    assert first == cold and len(entries(repo)) == 2
    cache_root = repo / ".inferencecheck_lint_cache"
    assert (cache_root / ".gitignore").read_text().endswith("*\n")
    assert (cache_root / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f59")
    stamps = {p: p.stat().st_mtime_ns for p in entries(repo)}
    assert sorted(Path(p).name for p in index(repo)) == ["clean.py", "model.py"]
    again = findings(lint(cwd=repo))
    assert again == cold
    assert {p: p.stat().st_mtime_ns for p in entries(repo)} == stamps  # nothing relinted


def test_an_unchanged_file_is_taken_from_the_index_without_reading_it(repo, monkeypatch):
    """The index is what makes a warm run fast: the second run reads no linted file."""
    cache = repo / "cache"
    cold = lint_paths([str(repo / "src")], root=repo, cache=LintCache(cache))
    read: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or real(self))
    warm = lint_paths([str(repo / "src")], root=repo, cache=LintCache(cache))
    assert warm == cold and [p for p in read if repo / "src" in p.parents] == []


def test_a_file_changed_just_now_is_not_recorded(tmp_path):
    """git's racily-clean rule: a file changed within SETTLED_NS of the run could be written
    again in the same clock tick, leaving its times as recorded: it is read next time."""
    (tmp_path / "fresh.py").write_text(MODEL)
    cache = LintCache(tmp_path / "cache")
    lint_paths([str(tmp_path / "fresh.py")], root=tmp_path, cache=cache)
    assert (cache.folder / "index.json").exists() is False
    settle()
    lint_paths([str(tmp_path / "fresh.py")], root=tmp_path, cache=LintCache(tmp_path / "cache"))
    assert list(json.loads((cache.folder / "index.json").read_text())) == [
        str(tmp_path / "fresh.py")]


@pytest.mark.parametrize("change", ["bytes", "bytes-same-size-and-times", "rules", "target",
                                    "name"])
def test_every_input_of_a_key_changed_for_real_matches_a_cold_run(repo, change):
    before = findings(lint(cwd=repo))  # warm the cache (and the index: the files are settled)
    model = repo / "src" / "model.py"
    if change == "bytes":
        model.write_text(MODEL.replace("print(x)\n", "x = x + 1\n"))
    elif change == "bytes-same-size-and-times":  # what an index of size and mtime misses
        was = model.stat()
        model.write_text(MODEL.replace("print(x)", "x = x*10"))
        os.utime(model, ns=(was.st_atime_ns, was.st_mtime_ns))
        now = model.stat()
        assert (now.st_size, now.st_mtime_ns, now.st_ino) == \
            (was.st_size, was.st_mtime_ns, was.st_ino)
    elif change == "rules":
        (repo / "pyproject.toml").write_text('[tool.inferencecheck.lint]\nignore = ["IC301"]\n')
    elif change == "target":
        (repo / "pyproject.toml").write_text('[tool.inferencecheck.lint.paths]\n'
                                             '"src/*" = "mobile-android"\n')
    else:
        (repo / "src" / "model.py").rename(repo / "src" / "renamed.py")
    warm = findings(lint(cwd=repo))
    cold = findings(lint("--no-cache", cwd=repo))
    assert warm == cold
    assert cold != before  # the change changes the findings: a stale entry would show


def test_the_name_a_file_is_shown_under_keys_the_index_as_well_as_the_entries(repo):
    """The same file at the same path, its stat unchanged, shown under another name (from a
    workflow's checkout root): the index must not answer with the old name's findings."""
    before = findings(lint(cwd=repo))
    workspace = {"GITHUB_WORKSPACE": str(repo.parent)}
    warm = findings(lint(cwd=repo, env=workspace))
    cold = findings(lint("--no-cache", cwd=repo, env=workspace))
    assert warm == cold and cold != before
    assert {f["path"] for f in cold["findings"]} == {f"{repo.name}/src/model.py"}


def test_a_touched_file_misses_the_index_and_takes_its_content_entry(repo):
    """Same bytes, new times (a checkout, `touch`): read and hashed again, not relinted."""
    cold = findings(lint("--no-cache", cwd=repo))
    assert findings(lint(cwd=repo)) == cold
    assert any(f["fix"] for f in cold["findings"])  # an entry with a fix, read back below
    stamps = {p: p.stat().st_mtime_ns for p in entries(repo)}
    model = repo / "src" / "model.py"
    model.write_bytes(model.read_bytes())  # same bytes: the change time moves
    assert findings(lint(cwd=repo)) == cold
    assert {p: p.stat().st_mtime_ns for p in entries(repo)} == stamps  # nothing relinted


PYTHON_312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")


def _python(version: str) -> str:
    found = shutil.which(f"python{version}") if version != "3.12" else None
    for candidate in (found, PYTHON_312 if version == "3.12" else None):
        if candidate and subprocess.run([str(candidate), "-c", "import tomllib"],
                                        capture_output=True).returncode == 0:
            return str(candidate)
    if os.environ.get("CI"):
        pytest.fail(f"CI must have Python {version} to change the Python that parses")
    pytest.skip(f"no Python {version} here (CI has one)")


def test_the_python_that_parses_keys_the_cache(tmp_path):
    """The same file, one cache, two interpreters: 3.11 cannot parse `def f[T]` (a syntax
    error), 3.12 can (a finding). The 3.12 rerun must be 3.12's cold answer, not 3.11's."""
    py312 = _python("3.12")
    (tmp_path / "pyproject.toml").write_text("[tool.inferencecheck.lint]\n")
    (tmp_path / "m.py").write_text("import torch\n\n\ndef f[T](x: T) -> T:\n"
                                   "    return torch.jit.script(x)\n")
    settle()
    env = {**{k: v for k, v in os.environ.items() if k != "GITHUB_WORKSPACE"},
           "PYTHONPATH": str(ROOT)}

    def run(python: str, *args: str) -> dict:
        proc = subprocess.run([python, "-m", "pytest_inferencecheck", "lint", "--output-format",
                               "json", *args], capture_output=True, text=True, cwd=tmp_path,
                              env=env, timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        return json.loads(proc.stdout)

    on_311 = run(sys.executable)
    assert on_311["errors"] and not on_311["findings"]  # 3.11: invalid syntax
    assert run(sys.executable) == on_311  # and its rerun through the cache
    warm_312 = run(py312)
    assert warm_312 == run(py312, "--no-cache") and warm_312 != on_311
    assert [f["code"] for f in warm_312["findings"]] == ["IC101"]


def test_the_rules_own_code_keys_the_cache(tmp_path):
    """A rule edited (a release, or a checkout) never reads an entry the old rule wrote."""
    copy = tmp_path / "pkg"
    shutil.copytree(ROOT / "pytest_inferencecheck", copy / "pytest_inferencecheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    digest = [sys.executable, "-c", "from pytest_inferencecheck.lint.cache import _tool_digest;"
                                    "print(_tool_digest())"]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(copy)}
    before = subprocess.run(digest, capture_output=True, text=True, env=env, check=True,
                            cwd=tmp_path).stdout
    rules = copy / "pytest_inferencecheck" / "lint" / "rules" / "forward.py"
    rules.write_text(rules.read_text() + "\n# an edited rule\n")
    after = subprocess.run(digest, capture_output=True, text=True, env=env, check=True,
                           cwd=tmp_path).stdout
    assert before.strip() and before != after


def test_a_corrupt_or_truncated_entry_is_linted_again(repo):
    cold = findings(lint("--no-cache", cwd=repo))
    findings(lint(cwd=repo))
    for i, entry in enumerate(entries(repo)):
        entry.write_text("{\"findings\": [" if i == 0 else "not json at all")
    [index_file] = (repo / ".inferencecheck_lint_cache").glob("*/index.json")
    index_file.write_text('{"' + str(repo / "src" / "model.py") + '": [[1')
    assert findings(lint(cwd=repo)) == cold
    for entry in entries(repo):
        json.loads(entry.read_text())  # rewritten whole


@pytest.mark.parametrize("finding", [{"bogus": 1}, "not a finding", {"line": "x"}])
def test_an_entry_of_the_right_shape_with_malformed_findings_is_linted_again(repo, finding):
    # Issue 31: such an entry gave "internal error: TypeError" and no findings
    cold = findings(lint("--no-cache", cwd=repo))
    findings(lint(cwd=repo))
    for entry in entries(repo):
        entry.write_text(json.dumps({"findings": [finding], "errors": []}))
    [index_file] = (repo / ".inferencecheck_lint_cache").glob("*/index.json")
    data = json.loads(index_file.read_text())
    for value in data.values():
        value[2] = {"findings": [finding], "errors": []}
    index_file.write_text(json.dumps(data))
    again = lint(cwd=repo)
    assert "internal error" not in again.stderr and findings(again) == cold


def test_a_cache_that_cannot_be_written_is_no_cache_and_no_error(repo):
    cold = findings(lint("--no-cache", cwd=repo))
    with read_only(repo / "ro"):
        run = lint("--cache-dir", str(repo / "ro" / "cache"), cwd=repo)
    assert findings(run) == cold and run.stderr == ""


def test_runs_at_once_on_one_cache_agree_with_a_cold_run(repo):
    for i in range(80):  # enough files for worker processes
        (repo / "src" / f"m{i:02d}.py").write_text(MODEL if i % 3 else "y = 2\n")
    cold = findings(lint("--no-cache", cwd=repo))
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_WORKSPACE"}
    procs = [subprocess.Popen([sys.executable, "-m", "pytest_inferencecheck", "lint",
                               "--output-format", "json"], cwd=repo, env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(out == cold for out in outs)
    assert all(json.loads(e.read_text()) for e in entries(repo))  # no half-written entry
    assert findings(lint(cwd=repo)) == cold


def test_worker_processes_give_the_serial_result_in_the_same_order(tmp_path):
    for i in range(3):  # every fixture, three times over: past the parallel threshold
        shutil.copytree(FIXTURES, tmp_path / f"copy{i}")
    config = LintConfig(select=("ALL",))
    serial = lint_paths([str(tmp_path)], config, root=tmp_path, jobs=1)
    parallel = lint_paths([str(tmp_path)], config, root=tmp_path, jobs=2)
    assert serial.files == parallel.files > 64
    assert parallel.findings == serial.findings and parallel.errors == serial.errors
    cache = LintCache(tmp_path / "cache")
    cached = lint_paths([str(tmp_path)], config, root=tmp_path, jobs=2, cache=cache)
    assert cached.findings == serial.findings and cache.misses == serial.files
    again = LintCache(tmp_path / "cache")
    warm = lint_paths([str(tmp_path)], config, root=tmp_path, jobs=2, cache=again)
    assert warm.findings == serial.findings and warm.errors == serial.errors
    assert (again.hits, again.misses) == (serial.files, 0)
