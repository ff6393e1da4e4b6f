"""The C++ runner: built once and cached, rebuilt when corrupt, failures become failed stages."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest
import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.host import cpp_build
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import Use

import models

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory):
    """An empty runner cache, so these tests build the runner for real."""
    return tmp_path_factory.mktemp("runner-cache")


def _build_in_subprocess(cache) -> subprocess.Popen:
    code = ("from pytest_inferencecheck.host.cpp_build import ensure_runner; r = ensure_runner(); "
            "print(r.built, r.path)")
    env = dict(os.environ, INFERENCECHECK_CACHE_DIR=str(cache), INFERENCECHECK_RUNNER_DIR=str(cache))
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_processes_building_at_once_share_one_valid_binary(fresh_cache):
    procs = [_build_in_subprocess(fresh_cache) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    built = sorted(out.split()[0] for out, _ in outs)
    assert built == ["False", "True"]  # one built it, the other waited and reused it
    paths = {out.split()[1] for out, _ in outs}
    (binary,) = paths
    assert os.access(binary, os.X_OK)
    leftovers = [p for p in os.listdir(os.path.dirname(binary)) if p.startswith(".inferencecheck")]
    assert leftovers == []  # temporary build outputs were renamed or removed


def test_a_corrupted_cached_binary_is_detected_and_rebuilt(fresh_cache, monkeypatch):
    monkeypatch.setenv("INFERENCECHECK_CACHE_DIR", str(fresh_cache))
    monkeypatch.setenv("INFERENCECHECK_RUNNER_DIR", str(fresh_cache))  # the machine's runners
    runner = cpp_build.ensure_runner()  # built here, or by the test before on this worker
    runner.path.write_bytes(b"\x7fELF garbage")  # e.g. a half-written file or disk error
    rebuilt = cpp_build.ensure_runner()
    assert rebuilt.built and rebuilt.rebuilt_corrupt
    proc = subprocess.run([str(rebuilt.path)], capture_output=True, text=True)
    assert proc.returncode == 64 and "usage:" in proc.stderr  # a working binary again
    assert not cpp_build.ensure_runner().built


def test_clean_model_passes_server_x86_cpp_with_outputs_equal_to_eager(fresh_store):
    r = check(models.SmallCNN(), models.cnn_inputs(), "server-x86-cpp")
    assert r.outcome == "passed", explain(r)
    assert (r.recommendation.row, r.recommendation.technology) == (6, "aoti-cpp")
    assert [s.name for s in r.stages] == ["eager", "graph_breaks", "export", "aoti_compile",
                                          "runner_build", "run", "compare", "latency"]
    assert r.numerics.ok and r.numerics.max_abs_err < 1e-4
    assert r.latency.artifact_ms is not None and r.latency.artifact_ms > 0


def test_dynamic_batch_runs_in_cpp_at_a_second_shape_timed_once(monkeypatch, fresh_store):
    calls = []
    real_run = subprocess.run

    def recording_run(cmd, *args, **kwargs):  # observe the real runner's command lines
        calls.append(list(cmd))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr("pytest_inferencecheck.checking.runners.aoti_cpp.subprocess.run", recording_run)
    batch = torch.export.Dim("batch", min=1, max=16)
    r = check(models.SmallCNN(), (torch.randn(4, 3, 16, 16),), "server-x86-cpp",
              dynamic_shapes=({0: batch},))
    assert r.outcome == "passed", explain(r)
    assert r.numerics.second_shape.ok and r.numerics.shapes.startswith("0: (4, 3, 16, 16)")
    runner_calls = [c for c in calls if c[0].endswith("inferencecheck-aoti-runner")]
    assert [c[-1] for c in runner_calls] == ["20", "0"]  # timed at the example shape only
    assert r.latency.artifact_ms > 0


def test_bert_outputs_come_back_as_a_model_output_from_cpp():
    r = check(models.tiny_bert(), models.token_ids(), "server-x86-cpp", name="bert")
    assert r.outcome == "passed", explain(r)
    assert r.numerics.compared == 2 and r.numerics.notes == []  # same structure as eager


def test_gpt2_with_cache_fails_server_cpp_with_the_export_hint():
    r = check(models.tiny_gpt2(), models.token_ids(), "server-x86-cpp")
    assert r.outcome == "failed" and r.recommendation.row == 6
    (f,) = r.failures
    assert f.stage == "export" and "no fallback" in f.message and "use_cache=False" in f.message


def test_a_hung_runner_is_killed_and_reported(fresh_store):
    r = check(models.SmallCNN(), models.cnn_inputs(), "server-x86-cpp", cpp_timeout_s=0.001)
    assert r.outcome == "failed"
    (f,) = r.failures
    assert f.stage == "run" and "did not finish within 0.001s and was killed" in f.message


def _fake_runner(tmp_path, script: str):
    path = tmp_path / "fake-runner"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return cpp_build.RunnerBinary(path, Use("runner", "fake" * 8, "reused"))


@pytest.mark.parametrize("script, expected", [
    ("echo 'boom: bad package' >&2\nexit 3\n", "exited with code 3; stderr:\nboom: bad package"),
    ("kill -SEGV $$\n", "was killed by signal SIGSEGV"),
    ("kill -KILL $$\n", "was killed by signal SIGKILL"),
])
def test_a_failing_runner_process_is_a_failed_run_stage(tmp_path, monkeypatch, script, expected,
                                                       fresh_store):
    # A real process that fails the way a broken runner would; the model is compiled for real.
    monkeypatch.setattr("pytest_inferencecheck.checking.runners.aoti_cpp.ensure_runner",
                        lambda store: _fake_runner(tmp_path, script))
    r = check(models.SmallCNN(), models.cnn_inputs(), "server-x86-cpp")
    assert r.outcome == "failed"
    (f,) = r.failures
    assert f.stage == "run" and expected in f.message


def test_missing_compiler_is_a_host_fault_before_any_compile(monkeypatch, fresh_store):
    from torch._inductor import config  # reads CXX once, at import: patch both, restore both

    monkeypatch.setenv("CXX", "/nonexistent/c++")
    with config.patch({"cpp.cxx": (None, "/nonexistent/c++")}):
        r = check(models.SmallCNN(), models.cnn_inputs(), "server-x86-cpp")
    assert r.outcome == "failed"
    (f,) = r.failures
    assert f.stage == "aoti_compile"  # the package is compiled first, and needs the compiler too
    assert f.message.startswith("host fault, not the model's: no working C++ compiler on this "
                                "host (inductor looked for /nonexistent/c++")
    assert f.hint.startswith("install a C++ compiler")


def test_missing_compiler_for_the_runner_alone_is_a_failed_build_stage(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    with pytest.raises(cpp_build.BuildError, match=r"no C\+\+ compiler found"):
        cpp_build.find_compiler()


def test_a_failed_build_reports_the_compiler_output(tmp_path, monkeypatch):
    broken = tmp_path / "broken.cpp"
    broken.write_text("int main() { return undefined_symbol; }\n")
    monkeypatch.setattr(cpp_build, "SOURCE", broken)
    monkeypatch.setenv("INFERENCECHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("INFERENCECHECK_RUNNER_DIR", str(tmp_path / "cache"))
    with pytest.raises(cpp_build.BuildError) as exc:
        cpp_build.ensure_runner()
    assert "building the C++ runner failed" in str(exc.value)
    assert "undefined_symbol" in str(exc.value)


def test_runner_runs_without_python(fresh_cache, monkeypatch):
    monkeypatch.setenv("INFERENCECHECK_CACHE_DIR", str(fresh_cache))
    monkeypatch.setenv("INFERENCECHECK_RUNNER_DIR", str(fresh_cache))  # the machine's runners
    binary = cpp_build.ensure_runner().path
    libs = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    assert "libtorch" in libs and "libpython" not in libs
    torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib")
    assert f"{torch_lib}/libtorch_cpu.so" in libs  # the installed torch's own libraries


def test_tensor_files_round_trip_every_dtype_and_shape(tmp_path):
    from pytest_inferencecheck.checking.runners import tensor_file

    tensors = [torch.randn(2, 3), torch.tensor(3.5), torch.arange(5), torch.zeros(0, 4),
               torch.ones(2, dtype=torch.bool), torch.randn(3).to(torch.bfloat16),
               torch.randn(3, 2).t(), torch.randn(2, dtype=torch.complex64),
               torch.randint(-5, 5, (4,), dtype=torch.int8)]
    tensor_file.write(tmp_path / "t.bin", tensors)
    back = tensor_file.read(tmp_path / "t.bin")
    assert [(b.dtype, b.shape) for b in back] == [(t.dtype, t.shape) for t in tensors]
    assert all(torch.equal(b, t) for b, t in zip(back, tensors))
    (tmp_path / "bad.bin").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not a tensor file"):
        tensor_file.read(tmp_path / "bad.bin")


def test_the_runner_is_built_once_per_machine_whatever_store_a_run_names(tmp_path, monkeypatch):
    """Issue 35: a run over an empty store copies the machine's runner (kept by content), it
    does not compile it again; a run that keeps nothing compiles its own."""
    from pytest_inferencecheck.store import open_store

    monkeypatch.setenv("INFERENCECHECK_RUNNER_DIR", str(tmp_path / "machine"))
    first = cpp_build.ensure_runner(open_store(tmp_path / "a", shared=False))
    second = cpp_build.ensure_runner(open_store(tmp_path / "b", shared=False))
    kept = list((tmp_path / "machine").glob(f"v1/entries/runner/*/{cpp_build.BINARY_NAME}"))
    assert len(kept) == 1 and first.copied and second.copied  # compiled once, there
    assert kept[0].read_bytes() == first.path.read_bytes() == second.path.read_bytes()
    assert str(second.path).startswith(str(tmp_path / "b"))
    proc = subprocess.run([str(second.path)], capture_output=True, text=True)
    assert proc.returncode == 64 and "usage:" in proc.stderr  # a working binary
    temporary = open_store(tmp_path / "c", persistent=False, shared=False)
    own = cpp_build.ensure_runner(temporary)  # --no-inference-check-cache: its own
    assert own.built and not own.copied


def test_another_compiler_is_not_served_the_machines_runner(tmp_path, monkeypatch):
    """The machine's runner is keyed like any entry: a run whose compiler differs (a wrapper
    first on the way to g++) compiles its own, byte for byte what a cold run compiles."""
    from pytest_inferencecheck.store import open_store

    monkeypatch.setenv("INFERENCECHECK_RUNNER_DIR", str(tmp_path / "machine"))
    cpp_build.ensure_runner(open_store(tmp_path / "a", shared=False))
    wrapper = tmp_path / "cxx"
    wrapper.write_text(f"#!/bin/sh\nexec {cpp_build.find_compiler()} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("CXX", str(wrapper))
    other = cpp_build.ensure_runner(open_store(tmp_path / "b", shared=False))
    assert len(list((tmp_path / "machine").glob("v1/entries/runner/*"))) == 2  # a new key
    temporary = open_store(tmp_path / "c", persistent=False, shared=False)  # kept alive: read
    cold = cpp_build.ensure_runner(temporary)
    assert cold.built and not cold.copied
    assert other.path.read_bytes() == cold.path.read_bytes()
