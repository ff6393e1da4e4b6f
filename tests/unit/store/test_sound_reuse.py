"""Sound reuse: a check that reuses the store reaches the verdict a cold run reaches.

Each test runs a real check, changes one thing that decides the result (code reached only under
tracing, state no source file holds, torch's configs, a custom operator, the compiler, a stored
artifact), then checks again on the same store (the rerun) and on an empty one (the cold run):
the two verdicts must be equal. Most changes flip the cold verdict, so a rerun that reused a
stale fact, artifact or recorded run would differ from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.reporters.text import explain

import numeric_modes
from sound_repo import (
    HELPERS,
    _replace_vouched_for,
    _verdict_of,
    run_together,
    statuses,
    two_checks,
    verdict,
)

pytestmark = pytest.mark.slow



# -- code reached only under tracing ------------------------------------------------------------
def test_a_break_added_to_a_helper_only_tracing_reaches_fails_the_rerun(repo):
    first = repo.check("Traced", "server-x86-cpp")
    assert first.outcome == "passed", explain(first)
    repo.edit("sound_helpers", HELPERS.replace("    return y", '    print("tracing")\n'
                                                               "    return y"))
    rerun, cold = repo.rerun_and_cold("Traced", "server-x86-cpp")
    assert cold.outcome == "failed" and cold.failures[0].stage == "graph_breaks"
    assert rerun.graph_breaks[0].file.endswith("sound_helpers.py")


def test_math_changed_in_a_helper_only_tracing_reaches_is_lowered_anew(repo):
    first = repo.check("Traced", "mobile-android")
    assert first.outcome == "passed", explain(first)
    repo.edit("sound_helpers", HELPERS.replace("return y", "return y * 2"))
    rerun, cold = repo.rerun_and_cold("Traced", "mobile-android")
    # eager never runs the helper: the lowered program really differs from it
    assert cold.outcome == "failed" and cold.failures[0].stage == "compare"
    assert statuses(rerun, "executorch") == ["built"] and statuses(rerun, "run") == ["built"]


# -- state that steers the trace but is no source file ------------------------------------------
# (on the ExecuTorch rows a break decides the verdict only under strict export: these use it)
STRICT = {"strict_export": True}


def test_an_environment_variable_read_in_forward(repo, monkeypatch):
    assert repo.check("Steered", "mobile-android", **STRICT).outcome == "passed"
    monkeypatch.setenv("SOUND_DEBUG", "1")
    rerun, cold = repo.rerun_and_cold("Steered", "mobile-android", **STRICT)
    assert cold.outcome == "failed" and len(rerun.graph_breaks) == 1


def test_a_field_of_a_config_object(repo, monkeypatch):
    assert repo.check("Steered", "mobile-android", **STRICT).outcome == "passed"
    monkeypatch.setattr(sys.modules["sound_config"].CFG, "debug", True)
    rerun, cold = repo.rerun_and_cold("Steered", "mobile-android", **STRICT)
    assert cold.outcome == "failed" and len(rerun.graph_breaks) == 1


def test_dynamo_config_capture_scalar_outputs(repo, configured):
    first = repo.check("Scalar", "mobile-android", **STRICT)
    assert first.outcome == "failed" and first.failures[0].stage == "graph_breaks"
    configured(torch._dynamo.config, capture_scalar_outputs=True)
    rerun, cold = repo.rerun_and_cold("Scalar", "mobile-android", **STRICT)
    assert cold.graph_breaks == [] and verdict(cold) != verdict(first)


# -- the other way round: stale artifacts or recorded runs would fail a passing model -----------
def test_a_changed_scale_on_a_config_object(repo, monkeypatch):
    assert repo.check("Steered", "mobile-android").outcome == "passed"
    monkeypatch.setattr(sys.modules["sound_config"].CFG, "scale", 3.0)
    rerun, cold = repo.rerun_and_cold("Steered", "mobile-android")
    assert rerun.outcome == "passed", explain(rerun)
    assert statuses(rerun, "executorch") == ["built"]


def test_a_monkeypatched_torch_function(repo, monkeypatch):
    first = repo.check("Steered", "mobile-android")
    assert first.outcome == "passed", explain(first)
    monkeypatch.setattr(torch.nn.functional, "gelu", lambda x, approximate="none": torch.tanh(x))
    rerun, cold = repo.rerun_and_cold("Steered", "mobile-android")
    assert rerun.outcome == "passed", explain(rerun)
    assert statuses(rerun, "executorch") == ["built"]


def test_an_environment_variable_that_scales_the_output(repo, monkeypatch):
    assert repo.check("Steered", "mobile-android").outcome == "passed"
    monkeypatch.setenv("SOUND_SCALE", "3")
    rerun, cold = repo.rerun_and_cold("Steered", "mobile-android")
    assert rerun.outcome == "passed", explain(rerun)


# -- a custom operator whose implementation changes (separate processes: an operator cannot be
#    registered twice in one) -------------------------------------------------------------------
OPS = '''
import torch

@torch.library.custom_op("soundlib::scale", mutates_args=())
def scale(x: torch.Tensor) -> torch.Tensor:
    return x * 2

@scale.register_fake
def _(x):
    return torch.empty_like(x)
'''

OPS_MODEL = '''
import torch
from torch import nn
import sound_ops

class WithOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return torch.ops.soundlib.scale(self.lin(x))
'''

OPS_CHECK = '''
import json, sys, torch
sys.path.insert(0, sys.argv[1])
import sound_ops_model
from pytest_inferencecheck import check
for store in sys.argv[2:]:
    torch.manual_seed(0)
    r = check(sound_ops_model.WithOp(), (torch.ones(2, 8),), "server-x86-python", store=store)
    print(json.dumps(r.to_dict()))
'''


def _in_process(folder: Path, *stores: Path) -> list[dict]:
    """One process (an operator cannot be registered twice in one), a check per store."""
    proc = subprocess.run([sys.executable, "-c", OPS_CHECK, str(folder), *map(str, stores)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.strip().splitlines()[-len(stores):]]


def test_a_changed_custom_operator_implementation(tmp_path):
    (tmp_path / "sound_ops.py").write_text(OPS)
    (tmp_path / "sound_ops_model.py").write_text(OPS_MODEL)
    (first,) = _in_process(tmp_path, tmp_path / "warm")
    assert first["outcome"] == "passed", first["failures"]
    assert any("runs on every check" in n for n in first["notes"])  # its run is not recorded
    (tmp_path / "sound_ops.py").write_text(OPS.replace("x * 2", "x * 3"))
    rerun, cold = _in_process(tmp_path, tmp_path / "warm", tmp_path / "cold")
    assert _verdict_of(rerun) == _verdict_of(cold) and rerun["outcome"] == "passed"
    # the package is keyed by the operator's source: the edit is a new one
    assert [a["status"] for a in rerun["artifacts"] if a["kind"] == "aoti"] == ["built"]
    assert not [a for a in rerun["artifacts"] if a["kind"] == "run"]


# -- the host: the compiler inductor really uses -----------------------------------------------
def _compiler_first_on_path(folder: Path, script: str, monkeypatch, configured) -> None:
    folder.mkdir()
    wrapper = folder / "g++"
    wrapper.write_text(script)
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    configured(torch._inductor.config, **{"cpp.cxx": (None, "g++")})  # as with CXX unset


def test_another_compiler_first_on_path_rebuilds_the_package(repo, tmp_path, monkeypatch,
                                                             configured):
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed", explain(first)
    real = shutil.which("g++")
    _compiler_first_on_path(tmp_path / "bin", f'#!/bin/sh\nexec {real} "$@"\n', monkeypatch,
                            configured)
    rerun = repo.check("Traced", "server-x86-python")
    # nothing reused: the rerun is a cold run with this compiler (and passes as the first did)
    assert verdict(rerun) == verdict(first) and rerun.outcome == "passed"
    assert statuses(rerun, "aoti") == ["built"] and statuses(rerun, "run") == ["built"]
    assert {u.key for u in rerun.artifacts if u.kind == "aoti"} != \
        {u.key for u in first.artifacts if u.kind == "aoti"}


def test_a_broken_compiler_first_on_path_is_a_host_fault_on_the_rerun_too(repo, tmp_path,
                                                                          monkeypatch, configured):
    assert repo.check("Traced", "server-x86-python").outcome == "passed"
    _compiler_first_on_path(tmp_path / "bin", "#!/bin/sh\nexit 1\n", monkeypatch, configured)
    rerun, cold = repo.rerun_and_cold("Traced", "server-x86-python")
    (failure,) = cold.failures
    assert failure.stage == "aoti_compile" and "host fault" in failure.message, explain(cold)


# -- a stored artifact that does not load here is rebuilt, not taken for row 5 ---------------------
def test_a_reused_package_that_cannot_be_loaded_is_rebuilt_not_a_fallback(repo):
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed" and first.recommendation.row == 3
    (package,) = repo.warm.glob("v1/entries/aoti/*/model.pt2")
    # a package its checksum vouches for that does not load here (built by another torch, or
    # for another GPU): bytes that are no zip archive, with a manifest that matches them
    _replace_vouched_for(package, b"not a package " * 100)
    for record in repo.warm.glob("v1/entries/run/*"):  # its runs were recorded elsewhere
        shutil.rmtree(record)
    rerun = repo.check("Traced", "server-x86-python")
    # only the store changed: the cold run of this model is the first run, on an empty store
    assert verdict(rerun) == verdict(first), explain(rerun)
    assert rerun.recommendation.row == 3 and rerun.fallback is None
    assert statuses(rerun, "aoti") == ["built"]
    assert any("discarded and built again" in n for n in rerun.notes)


def test_a_run_record_of_other_bytes_than_the_stored_artifact_is_not_reused(repo):
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed"
    (package,) = repo.warm.glob("v1/entries/aoti/*/model.pt2")
    _replace_vouched_for(package, package.read_bytes() + b"\0")  # other bytes, still a package
    rerun = repo.check("Traced", "server-x86-python")
    (run,) = [u for u in rerun.artifacts if u.kind == "run"]
    assert run.status == "rebuilt" and "other bytes" in run.note  # ran again, record replaced


# -- torch's own state and the environment around the compile ---------------------------------
# Each changes one input of the compile or the run for real and returns how to undo it.
def _inductor_freezing(monkeypatch, configured):
    configured(torch._inductor.config, freezing=not torch._inductor.config.freezing)


def _functorch_config(monkeypatch, configured):
    configured(torch._functorch.config, donated_buffer=not torch._functorch.config.donated_buffer)


def _threads(monkeypatch, configured):
    threads = torch.get_num_threads()
    torch.set_num_threads(threads - 1 if threads > 1 else 2)
    return lambda: torch.set_num_threads(threads)


def _matmul_precision(monkeypatch, configured):
    return numeric_modes.matmul_precision(lambda p: "medium" if p != "medium" else "high")


def _deterministic(monkeypatch, configured):
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(not before)
    return lambda: torch.use_deterministic_algorithms(before)


def _inductor_environment(monkeypatch, configured):
    monkeypatch.setenv("TORCHINDUCTOR_CPP_MIN_CHUNK_SIZE", "256")


def _omp_environment(monkeypatch, configured):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.mark.parametrize("change", [_inductor_freezing, _functorch_config, _threads,
                                    _matmul_precision, _deterministic, _inductor_environment,
                                    _omp_environment], ids=lambda f: f.__name__.strip("_"))
def test_state_that_steers_the_build_builds_and_runs_anew(repo, monkeypatch, configured, change):
    # (on ExecuTorch, whose lowering takes a second: the .pt2 is keyed by the same state)
    first = repo.check("Traced", "mobile-android")
    assert first.outcome == "passed", explain(first)
    undo = change(monkeypatch, configured)
    try:
        rerun, cold = repo.rerun_and_cold("Traced", "mobile-android")
    finally:
        if undo:
            undo()
    assert statuses(rerun, "executorch") == ["built"] and statuses(rerun, "run") == ["built"]


# -- within one run, even with --no-inference-check-cache ---------------------------------------
def test_two_checks_of_one_model_in_two_states_share_no_fact_within_a_run(pytester, repo):
    together = run_together(pytester, two_checks("mobile-android", "Steered", ("quiet", "debug"),
                                                 "sound_config.CFG.debug = True",
                                                 options=", strict_export=True"))
    assert together["quiet"]["outcome"] == "passed"
    # the second check alone, cold: its model in its state, in a store of its own
    sys.modules["sound_config"].CFG.debug = True
    alone = repo.check("Steered", "mobile-android", repo.folder / "alone", **STRICT).to_dict()
    assert _verdict_of(together["debug"]) == _verdict_of(alone)
    assert alone["outcome"] == "failed" and alone["failures"][0]["stage"] == "graph_breaks"


# -- CUDA devices (no GPU here: torch.cuda's answers are replaced, and only they) --------------
def test_packages_for_two_gpus_have_two_keys(monkeypatch):
    from pytest_inferencecheck.checking.runners.aoti_python import package_parts
    from pytest_inferencecheck.host import devices

    def gpu(name: str, capability: tuple[int, int], driver: str) -> tuple:
        # mocked: this machine has no GPU, so what torch.cuda would say about one is given here
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=None: name)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=None: capability)
        monkeypatch.setattr(devices, "_driver_version", lambda i: driver)
        return package_parts("cuda")

    h200 = gpu("NVIDIA H200", (9, 0), "570.86")
    a100 = gpu("NVIDIA A100-SXM4-80GB", (8, 0), "570.86")
    h200_new_driver = gpu("NVIDIA H200", (9, 0), "580.10")
    assert len({h200, a100, h200_new_driver}) == 3
    assert gpu("NVIDIA H200", (9, 0), "570.86") == h200
    assert package_parts("cpu") != h200


def test_the_cpu_identity_names_the_isa_aten_uses():
    from pytest_inferencecheck.host.devices import identity

    assert identity("cpu")[-1] == torch.backends.cpu.get_cpu_capability()


@pytest.fixture(scope="module")
def opaque_op():
    """An operator made with `torch.library.Library`: torch keeps no record of the Python
    function behind it (registered once per process: a library cannot be defined twice)."""
    lib = torch.library.Library("soundlib2", "DEF")
    lib.define("twice(Tensor x) -> Tensor")
    lib.impl("twice", lambda x: x * 2, "CompositeExplicitAutograd")
    lib.impl("twice", lambda x: torch.empty_like(x), "Meta")
    yield torch.ops.soundlib2.twice
    del lib


@pytest.mark.parametrize("libraries", [False, True], ids=["alone", "beside-a-loaded-library"])
def test_an_operator_whose_implementation_cannot_be_found_keeps_nothing(opaque_op, tmp_path,
                                                                         monkeypatch, libraries):
    # A loaded op library (ExecuTorch 1.5.1 loads one on import) is not where a Python kernel
    # registered with torch.library.Library lives: keying by it would reuse a stale artifact.
    if libraries:
        monkeypatch.setattr("pytest_inferencecheck.support.compat.loaded_op_libraries",
                            lambda: [torch._C.__file__])

    class M(torch.nn.Module):
        def forward(self, x):
            return opaque_op(x) + 1

    r = check(M(), (torch.ones(2, 8),), "server-x86-python", store=tmp_path / "s")
    assert r.outcome == "passed", explain(r)
    assert r.artifacts == [] and not list((tmp_path / "s").glob("v1/entries/aoti/*"))
    assert any("cannot be found" in n for n in r.notes)
    assert "not kept" in next(s.detail for s in r.stages if s.name == "aoti_compile")


def test_where_inductors_cache_lives_is_not_keyed_and_the_rerun_matches_cold(repo, monkeypatch,
                                                                             tmp_path):
    # Left out of every key (inductor sets it itself on first use, torch 2.10): moving it
    # reuses the package, and the verdict is the one an empty store reaches.
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed", explain(first)
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "elsewhere"))
    rerun, cold = repo.rerun_and_cold("Traced", "server-x86-python")
    assert statuses(rerun, "aoti") == ["reused"] and statuses(cold, "aoti") == ["built"]


class _SparseInside(torch.nn.Module):
    def __init__(self, csr: bool):
        super().__init__()
        self.csr = csr

    def forward(self, x):
        y = x.to_sparse_csr() if self.csr else x.to_sparse()
        return y.to_dense() * 2


def test_a_sparse_layout_inside_the_program_is_keyed_and_the_rerun_matches_cold(fresh_store):
    # This session keys a sparse node by its layout (its stride() raised before: `internal`).
    # Changed for real (COO -> CSR inside forward): the keys differ, and a rerun through the
    # store gives what a cold run gives, target by target.
    from pytest_inferencecheck.store.keys import program_key

    x = torch.tensor([[0.0, 1.5], [2.0, 0.0]])
    keys = {csr: program_key(torch.export.export(_SparseInside(csr), (x,)))
            for csr in (False, True)}
    assert keys[False] != keys[True]
    assert program_key(torch.export.export(_SparseInside(True), (x,))) == keys[True]
    for target in ("server-x86-python", "server-x86-cpp", "mac"):
        for csr in (False, True):
            warm = check(_SparseInside(csr), (x,), target)  # through the test's store
            cold = check(_SparseInside(csr), (x,), target, store=False)
            assert (warm.outcome, [f.stage for f in warm.failures]) == \
                   (cold.outcome, [f.stage for f in cold.failures]), explain(warm)
            assert warm.outcome != "failed" or warm.failures[0].stage != "internal"


