"""Faults injected for real (issue 11): a crashing or hanging check, a host without a compiler
or without space. Each ends in a clear verdict within its timeout, with every report valid."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

import jsonschema
import pytest

from pytest_inferencecheck.reporters.json_report import SCHEMA_FILE

from filesystems import fill, full_disk, read_only
from repo_sources import MODELS as REPO_MODELS

MODELS = REPO_MODELS + '''
import signal, time

class Crashes(nn.Module):
    def forward(self, x):
        os.kill(os.getpid(), signal.SIGSEGV)  # a native crash, for real
        return x

class Hangs(nn.Module):
    def forward(self, x):
        time.sleep(1000)  # a forward that never returns
        return x
'''

TESTS = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac")
def test_a_fine(inference_check):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="fine")

@pytest.mark.deploy_target("mac")
def test_b_crashes(inference_check):
    inference_check(mymodels.Crashes(), (torch.ones(2, 4),), name="crashes")

@pytest.mark.deploy_target("mac")
def test_c_after(inference_check):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="after")
'''


@pytest.fixture
def repo(pytester):
    pytester.makepyfile(mymodels=MODELS)
    pytester.syspathinsert()
    return pytester


def valid_report(path: Path) -> dict:
    report = json.loads(path.read_text())
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    return report


def by_model(report: dict) -> dict:
    return {r["model"]: r for r in report["results"]}


# -- native crashes --------------------------------------------------------------------------------
def test_a_crash_leaves_a_valid_report_with_the_crashed_check_failed(repo):
    repo.makepyfile(test_m=TESTS)
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check",
                                       "--inference-check-json=r.json", timeout=300)
    assert result.ret != 0  # the process died: CI cannot go green
    report = valid_report(repo.path / "r.json")
    assert report["interrupted"] is True
    results = by_model(report)
    assert results["fine"]["outcome"] == "passed"
    crashed = results["test_b_crashes"]
    assert crashed["outcome"] == "failed" and crashed["failures"][0]["stage"] == "crashed"
    assert "process running this check died" in crashed["failures"][0]["message"]


def test_under_xdist_a_crash_fails_one_check_and_the_run_goes_on(repo):
    repo.makepyfile(test_m=TESTS)
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check", "-n", "1",
                                       "--inference-check-json=r.json",
                                       "--inference-check-junit=r.xml", timeout=300)
    result.assert_outcomes(passed=2, failed=1)
    report = valid_report(repo.path / "r.json")
    assert report["interrupted"] is False
    results = by_model(report)
    assert results["fine"]["outcome"] == results["after"]["outcome"] == "passed"
    crashed = results["test_b_crashes"]
    assert crashed["failures"][0]["stage"] == "crashed"
    assert "crashed while running" in crashed["failures"][0]["message"]
    assert "stage crashed" in (repo.path / "r.xml").read_text()


# -- hangs ------------------------------------------------------------------------------------------
def test_a_hanging_forward_times_out_and_the_run_goes_on(repo):
    repo.makepyfile(test_m='''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac", timeout_s=3)
def test_a_hangs(inference_check):
    inference_check(mymodels.Hangs(), (torch.ones(2, 4),), name="hangs")

@pytest.mark.deploy_target("mac")
def test_b_fine(inference_check):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="fine")
''')
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check",
                                       "--inference-check-json=r.json", timeout=120)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILED (row 8, stage timeout): the check ran past "
                                 "timeout_s=3 in stage eager: the eager stage did not finish*"])
    hung = by_model(valid_report(repo.path / "r.json"))["hangs"]
    assert [s["name"] for s in hung["stages"]] == ["eager"] and hung["stages"][0]["seconds"] < 10


def test_the_run_wide_timeout_applies_and_is_validated(repo):
    repo.makepyfile(test_m='''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac")
def test_hangs(inference_check):
    inference_check(mymodels.Hangs(), (torch.ones(2, 4),), name="hangs")
''')
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check",
                                       "--inference-check-timeout=2", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ran past timeout_s=2 in stage eager*"])
    bad = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check",
                                    "--inference-check-timeout=soon", timeout=120)
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*timeout='soon' from command line --inference-check-timeout: "
                              "must be a number of seconds >= 0*"])


# -- host faults are not model verdicts -------------------------------------------------------------
SERVER_TESTS = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target("server-x86-python", "server-x86-cpp")
def test_fine(inference_check):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="fine")
'''


def _no_compiler_path(tmp_path: Path) -> str:
    """A PATH with the tools a run needs but no C++ compiler."""
    bin_dir = tmp_path / "bin-without-compiler"
    bin_dir.mkdir()
    for tool in ("uname", "ldconfig", "sh"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["path", "cxx"])
def test_no_compiler_is_a_host_error_never_row_5(repo, monkeypatch, tmp_path, how):
    repo.makepyfile(test_m=SERVER_TESTS)
    monkeypatch.setenv("INFERENCECHECK_CACHE_DIR", str(tmp_path / "store"))  # nothing reused
    if how == "path":
        monkeypatch.setenv("PATH", _no_compiler_path(tmp_path))
        monkeypatch.delenv("CXX", raising=False)
    else:
        monkeypatch.setenv("CXX", "/nonexistent/g++")
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check",
                                       "--inference-check-json=r.json", timeout=300)
    result.assert_outcomes(failed=2)
    results = {r["target"]: r for r in valid_report(repo.path / "r.json")["results"]}
    python = results["server-x86-python"]
    assert python["recommendation"]["row"] != 5 and python["fallback"] is None
    for r in results.values():
        (f,) = r["failures"]
        assert "host fault, not the model's: no working C++ compiler" in f["message"] or \
            "no C++ compiler found" in f["message"], f
        assert "install a C++ compiler" in f["hint"] or "Install one" in f["message"]
    assert "report it to PyTorch" not in result.stdout.str()


@contextlib.contextmanager
def _full_tmpdir(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # inductor writes under TMPDIR
    with full_disk(tmp_path / "tmp", size="64k") as tmp:
        monkeypatch.setenv("TMPDIR", str(tmp))
        fill(tmp)
        yield


@contextlib.contextmanager
def _read_only_inductor_cache(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    with read_only(tmp_path / "inductor") as cache:
        monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(cache))
        yield


@pytest.mark.slow
@pytest.mark.parametrize("fault, message, hint", [
    (_full_tmpdir, "no space left on the device", "free space"),
    (_read_only_inductor_cache, "a read-only file system", "make the directory writable"),
])
def test_a_host_fault_during_the_compile_is_not_row_5(repo, monkeypatch, tmp_path, fault,
                                                      message, hint):
    repo.makepyfile(test_m=SERVER_TESTS.replace(', "server-x86-cpp"', ""))
    monkeypatch.setenv("INFERENCECHECK_CACHE_DIR", str(tmp_path / "store"))
    with fault(tmp_path, monkeypatch):
        result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check",
                                           "--inference-check-json=" + str(tmp_path / "r.json"),
                                           timeout=300)
    result.assert_outcomes(failed=1)
    (r,) = valid_report(tmp_path / "r.json")["results"]
    assert r["fallback"] is None and r["recommendation"]["row"] != 5
    (f,) = r["failures"]
    assert f"host fault, not the model's: {message}" in f["message"], f
    assert hint in f["hint"] and "compiler" not in f["hint"]


# -- bad input: one clear message, at the right moment ----------------------------------------------
class Doubles(__import__("torch").nn.Module):
    def forward(self, x):
        return x * 2


@pytest.mark.parametrize("spec, message", [
    ("nonsense", "dynamic_shapes must be a dict keyed by forward's argument names"),
    ({"y": {0: "batch"}}, "dynamic_shapes names 'y', which forward does not take; its "
                          "arguments: x"),
    # Issue 19: these wrong forms fell to row 5 and passed
    ([1, 2, 3], r"dynamic_shapes has 3 entries in argument order, and the model is called with "
                r"1 input\(s\)"),
    ({"x": "zz"}, r"dynamic_shapes holds 'zz' \(str\): each dimension is a torch.export.Dim"),
    (({0: "batch"},), r"dynamic_shapes holds 'batch' \(str\)"),
    # Issue 31: a dimension past the input's rank was an export IndexError blamed on torch
    # (row 5, passed at the quick level) or "internal error" from checking/shapes.py
    ({"x": {5: __import__("torch").export.Dim("b")}},
     r"dynamic_shapes gives dimension 5 of 'x', a 1-D tensor of shape \(3,\) \(its "
     r"dimensions: 0 to 0\)"),
    ((({0: None, 1: None, 2: None}),), r"gives dimension 1 of 'input 0', a 1-D tensor"),
    (([None, None],), r"dynamic_shapes gives 2 dimensions for 'input 0', a 1-D tensor"),
])
def test_invalid_dynamic_shapes_is_a_usage_error_not_row_5(spec, message):
    import torch

    from pytest_inferencecheck import InferenceCheckError, check

    with pytest.raises(InferenceCheckError, match=message):
        check(Doubles(), (torch.ones(3),), "server-x86-python", dynamic_shapes=spec, store=False)


def test_a_model_on_the_meta_device_is_a_usage_error():
    import torch

    from pytest_inferencecheck import InferenceCheckError, check

    model = torch.nn.Linear(3, 3, device="meta")
    with pytest.raises(InferenceCheckError, match=r"the model's weight, bias is on the meta "
                                                  r"device.*to_empty"):
        check(model, (torch.ones(3),), "mac", store=False)


def test_target_given_to_the_fixture_is_one_clear_failure(repo):
    repo.makepyfile(test_m='''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac")
def test_x(inference_check):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), target="edge")
''')
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "target='edge' cannot be given here: each item's target comes from " \
           "@pytest.mark.deploy_target(...) (this item checks 'mac')" in out
    assert "TypeError" not in out and "Traceback" not in out


def test_stacked_markers_are_a_collection_error_said_once(repo):
    repo.makepyfile(test_m='''
import pytest, torch, mymodels

@pytest.mark.deploy_target("edge")
class TestBoth:
    @pytest.mark.deploy_target("mac")
    def test_x(self, inference_check):
        inference_check(mymodels.Clean(), (torch.ones(2, 4),))
''', test_n='''
import pytest

@pytest.mark.deploy_target("nosuch-target")
def test_bad(inference_check):
    pass
''')
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "has 2 @pytest.mark.deploy_target markers" in out
    errors = out.split("short test summary info")[0]  # the summary line may repeat it, by width
    assert errors.count("unknown deployment target 'nosuch-target'") == 1
    assert "During handling of the above exception" not in out


def test_a_factory_that_raises_is_the_users_error_at_the_users_line(pytester):
    pytester.makepyfile(factories='''
def make():
    raise RuntimeError("weights not found")  # the factory's own line
''')
    pytester.makefile(".toml", pyproject='[tool.inferencecheck.models.m]\n'
                                         'factory = "factories:make"\ntargets = ["mac"]\n')
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*factory 'factories:make' raised RuntimeError: weights not "
                                 "found*", "*factories.py*line 2, in make*"])
    assert "config_file.py" not in result.stdout.str()


def cli(*args: str, cwd: Path | None = None, **kw):
    import subprocess

    return subprocess.run([sys.executable, "-m", "pytest_inferencecheck", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120, **kw)


@pytest.mark.parametrize("args, message", [
    (("recommend", "mac", "--graph-breaks", "-3"), "must be a whole number >= 0, got '-3'"),
    (("recommend", "server-x86-python", "--graph-breaks", "0", "--fastest-backend", "nosuch"),
     "torch.compile backend(s) 'nosuch' from --fastest-backend are not registered here"),
    (("run", "mod:factory", "--target", ""), "--target names no target"),
])
def test_cli_bad_input_is_exit_2_with_a_message(args, message, tmp_path):
    (tmp_path / "mod.py").write_text("import torch\n\ndef factory():\n"
                                     "    return torch.nn.Linear(2, 2), (torch.ones(2),)\n")
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr


def test_a_closed_pipe_is_quiet():
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "pytest_inferencecheck", "table",
                             "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # the reader leaves, as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(60) in (0, 141) and "BrokenPipeError" not in err and "internal" not in err


# -- the linter never hangs or aborts ---------------------------------------------------------------
def lint(*args: str, cwd: Path):
    return cli("lint", *args, cwd=cwd)


def test_a_fifo_in_a_linted_directory_is_skipped(tmp_path):
    (tmp_path / "pipe.py").parent.mkdir(exist_ok=True)
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "ok.py").write_text("import torch\ntorch.jit.script(f)\n")
    out = lint(".", cwd=tmp_path)  # would block forever reading the FIFO
    assert out.returncode == 1 and "ok.py:2:1: IC101" in out.stdout
    named = lint("pipe.py", cwd=tmp_path)
    assert named.returncode == 2 and "pipe.py: not a regular file or directory" in named.stderr


def test_a_file_too_deep_to_parse_is_one_error_and_the_rest_is_linted(tmp_path):
    (tmp_path / "deep.py").write_text("x = " + "+".join(["1"] * 20000) + "\n")
    (tmp_path / "ok.py").write_text("import torch\ntorch.jit.script(f)\n")
    out = lint(".", cwd=tmp_path)
    assert out.returncode == 2
    assert "ok.py:2:1: IC101" in out.stdout
    assert "deep.py: cannot parse" in out.stderr or "deep.py:" in out.stderr
    assert "All checks passed" not in out.stdout


def test_a_pep_263_encoding_is_honoured(tmp_path):
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nimport torch\n"
                                        b"name = '\xe9'\ntorch.jit.script(f)\n")
    out = lint(".", cwd=tmp_path)
    assert out.returncode == 1 and "latin.py:4:1: IC101" in out.stdout, out.stderr


def test_all_checks_passed_only_when_they_did(tmp_path):
    (tmp_path / "bad.py").write_bytes(b"\xff\xfe\x00 not text")
    (tmp_path / "ok.py").write_text("x = 1\n")
    out = lint(".", cwd=tmp_path)
    assert out.returncode == 2 and "All checks passed" not in out.stdout
    assert "1 file could not be linted." in out.stdout


@pytest.mark.parametrize("config, message", [
    (b"[tool.inferencecheck]\nlint = 5\n", "[tool.inferencecheck.lint] must be a table"),
    (b'[tool.inferencecheck.lint]\nignore = "IC101"\n',
     'ignore must be a list of rule codes or prefixes, e.g. ignore = ["IC101"]'),
    (b"[tool.inferencecheck]\nstrict = true # \xff\xfe\n", "cannot be read"),
])
def test_bad_lint_config_is_exit_2_with_a_message(tmp_path, config, message):
    (tmp_path / "pyproject.toml").write_bytes(config)
    (tmp_path / "ok.py").write_text("x = 1\n")
    out = lint(".", cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert "internal error" not in out.stderr



# -- Ctrl-C ------------------------------------------------------------------------------------------
# A terminal's Ctrl-C reaches a process whose SIGINT is live. A test process's child may start
# otherwise: an ignored SIGINT and a blocked signal mask survive fork and exec, so whatever an
# earlier test of the same xdist worker left in it would reach the run under test (an ignored
# SIGINT makes Python start without its KeyboardInterrupt handler, and the signal is lost).
# The run under test starts from a clean state: nothing blocked, SIGINT at its default.
LIVE_SIGNALS = ("import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
                "signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def _worker_signals() -> str:
    """This process's SIGINT disposition and blocked mask (said when a signal test fails)."""
    import signal

    return (f"(the test process: SIGINT {signal.getsignal(signal.SIGINT)!r}, blocked "
            f"{sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))})")


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command: state, ppid, pgrp, session, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _helpers_of(parent: int) -> list[int]:
    """The live children of `parent` that lead their own session: its helpers."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            state, ppid, _, session = _stat(int(entry.name))[:4]
        except (OSError, ValueError, IndexError):
            continue
        if int(ppid) == parent and int(session) == int(entry.name) and state not in "ZX":
            found.append(int(entry.name))
    return found


def _processes_naming(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (a store path, a module)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


CTRL_C_TEST = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target("server-x86-python", "mobile-android", "server-x86-cpp")
def test_wide(inference_check):
    inference_check(mymodels.Wide(), (torch.randn(2, 16),), name="wide")
'''

WIDE = '''
class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(16, 64), nn.Linear(64, 16)
    def forward(self, x):
        return self.b(torch.relu(self.a(x)))
'''


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_helpers_and_builds_and_reports_the_check_it_stopped(tmp_path, signame):
    # Issue 31: SIGTERM (what CI sends on cancel and timeout) left the helper and the runner
    # build running, and the helper wrote into the store after pytest died: it now ends a run
    # as Ctrl-C (SIGINT) does.
    import signal
    import subprocess
    import time

    (tmp_path / "mymodels.py").write_text(REPO_MODELS + WIDE)
    (tmp_path / "test_ctrl_c.py").write_text(CTRL_C_TEST)
    store = tmp_path / "store"  # empty: the C++ runner is built in the background too
    log = tmp_path / "out.log"  # a file, not a pipe: a child never waits for us to read
    with log.open("w") as out_file:
        proc = subprocess.Popen(
            [sys.executable, "-c", LIVE_SIGNALS, "-m", "pytest", "--inference-check", "-v",
             "-p", "no:cacheprovider", "--inference-check-json=r.json",
             "--inference-check-junit=r.xml", "test_ctrl_c.py"],
            cwd=tmp_path, stdout=out_file, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "INFERENCECHECK_CACHE_DIR": str(store),
                 "PYTHONPATH": os.pathsep.join(filter(None, (str(tmp_path),
                                                             os.environ.get("PYTHONPATH"))))})
    try:
        # The event itself: this run's helper process (its command line names this store; other
        # tests' helpers run beside it under xdist). It starts once the first item has exported
        # and before that item's compile, and the run cannot end while it builds: the items
        # after the first wait for it. The deadline only turns a hang into a failure.
        deadline = time.monotonic() + 300
        # the .pte's helper is a fork of the run (issue 35): a child leading its own session
        while not (helpers := _helpers_of(proc.pid)):
            assert proc.poll() is None, "the run ended before it started a helper: " + \
                log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no helper process was started"
            time.sleep(0.05)
        proc.send_signal(getattr(signal, signame))  # while the helper and the first compile run
        proc.wait(timeout=300)
    finally:
        proc.kill()
    out = log.read_text()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out[-3000:] + _worker_signals()
    assert _processes_naming(str(store)) == []  # no helper, no compiler outlives the run
    assert not [pid for pid in helpers if Path(f"/proc/{pid}").exists()
                and _stat(pid)[0] not in "ZX"]
    before = _tree(store)
    time.sleep(3)
    assert _tree(store) == before  # and nothing writes into the store after it exited
    report = valid_report(tmp_path / "r.json")
    assert report["interrupted"] is True
    (stopped,) = [r for r in report["results"] if r["target"] == "server-x86-python"]
    assert stopped["outcome"] == "failed" and stopped["failures"][0]["stage"] == "interrupted"
    assert "stage interrupted" in (tmp_path / "r.xml").read_text()
