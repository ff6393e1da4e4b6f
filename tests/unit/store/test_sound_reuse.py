"""Sound reuse: a check that reuses the store reaches the verdict a cold run reaches.

Each test runs a real check, changes one thing that decides the result (code reached only under
tracing, state no source file holds, torch's configs, a custom operator, the compiler, a stored
artifact), then checks again on the same store (the rerun) and on an empty one (the cold run):
the two verdicts must be equal. Most changes flip the cold verdict, so a rerun that reused a
stale fact, artifact or recorded run would differ from it.
"""

from __future__ import annotations

import contextlib
import importlib
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
from pytest_inferencecheck.support import compat

import numeric_modes

pytestmark = pytest.mark.slow

HELPERS = '''
def under_trace(y):
    return y
'''

CONFIG = '''
import types
CFG = types.SimpleNamespace(debug=False, scale=2.0)
'''

MODEL = '''
import os
import torch
import torch.nn.functional as F
from torch import nn
import sound_config
from sound_helpers import under_trace


class Traced(nn.Module):
    """Calls a helper (in another file) only under tracing: eager never runs it."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = self.lin(x)
        if torch.compiler.is_compiling():
            y = under_trace(y)
        return torch.relu(y)


class Steered(nn.Module):
    """Its trace depends on state no source file holds: environment variables, a config
    object's fields, a function of torch's that a test patches."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = F.gelu(self.lin(x)) * sound_config.CFG.scale
        y = y * float(os.environ.get("SOUND_SCALE", "1"))
        if os.environ.get("SOUND_DEBUG") == "1":
            print("debug: from the environment")
        if sound_config.CFG.debug:
            print("debug: from the config object")
        return y


class Drawn(nn.Module):
    """Draws a random number in forward: its outputs depend on the generator's state."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return self.lin(x) * (torch.rand(()) > 0.5)


class Subnormal(nn.Module):
    """Its values pass through subnormal floats: flush-denormal turns them into zeros."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return (((self.lin(x) * 1e-20) * 1e-20) * 1e20) * 1e20


class Scalar(nn.Module):
    """`.item()`: a graph break unless Dynamo captures scalar outputs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = self.lin(x)
        return y * y.sum().item()
'''

X = (torch.ones(2, 8),)


def verdict(result) -> tuple:
    """Everything the gate and the reports decide from: outcome, row, breaks, export, numerics,
    the stages that failed."""
    rec = result.recommendation
    return (result.outcome, rec.row if rec else None, rec.technology if rec else None,
            sorted((b.type, b.file, b.line) for b in result.graph_breaks or []),
            (result.export.ok, sorted(i.kind for i in result.export.issues))
            if result.export else None,
            result.numerics.ok if result.numerics else None,
            sorted(f.stage for f in result.failures))


def statuses(result, kind: str) -> list[str]:
    return [u.status for u in result.artifacts if u.kind == kind]


class Repo:
    """The model files on disk, importable, editable, and two stores: the one reused, and an
    empty one per cold run (both seeded with the C++ runner when the session has one)."""

    def __init__(self, folder: Path, session_store: Path) -> None:
        self.folder, self.session_store = folder, session_store
        self.warm = self._store("warm")
        self.colds = 0
        for name, text in (("sound_helpers", HELPERS), ("sound_config", CONFIG),
                           ("sound_model", MODEL)):
            (folder / f"{name}.py").write_text(text)
            sys.modules.pop(name, None)
        self.model = importlib.import_module("sound_model")

    def _store(self, name: str) -> Path:
        root = self.folder / name
        runners = self.session_store / "v1" / "entries" / "runner"
        if runners.exists():  # the runner is not what these tests are about
            shutil.copytree(runners, root / "v1" / "entries" / "runner")
        return root

    def check(self, cls: str, target: str, store: Path | None = None, seed: int = 0, **kwargs):
        torch.manual_seed(0)  # the same weights, whatever `seed` the check then runs from
        model = getattr(self.model, cls)()
        torch.manual_seed(seed)
        return check(model, X, target, store=store or self.warm, **kwargs)

    def edit(self, module: str, text: str) -> None:
        """Edit a file and load it again, and the model module that imports from it (as a
        new process would; the model's own file is unchanged)."""
        (self.folder / f"{module}.py").write_text(text)
        importlib.reload(sys.modules[module])
        self.model = importlib.reload(self.model)

    def rerun_and_cold(self, cls: str, target: str, **kwargs):
        """The same check on the reused store, then on an empty one; their verdicts agree."""
        rerun = self.check(cls, target, **kwargs)
        self.colds += 1
        cold = self.check(cls, target, store=self._store(f"cold{self.colds}"), **kwargs)
        assert verdict(rerun) == verdict(cold), f"rerun:\n{explain(rerun)}\ncold:\n{explain(cold)}"
        return rerun, cold


@pytest.fixture
def configured():
    """`configured(torch._dynamo.config, name=value)`: one of torch's configs changed for this
    test with its own `patch` (pytest's monkeypatch cannot restore a ConfigModule)."""
    with contextlib.ExitStack() as stack:
        yield lambda config, **changes: stack.enter_context(config.patch(changes))


@pytest.fixture
def repo(tmp_path, monkeypatch, session_store, cpp_runner):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # an edit within a second still loads
    for var in ("SOUND_SCALE", "SOUND_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    yield Repo(tmp_path, session_store)
    for name in ("sound_helpers", "sound_config", "sound_model"):
        sys.modules.pop(name, None)


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
def test_an_environment_variable_read_in_forward(repo, monkeypatch):
    assert repo.check("Steered", "mobile-android").outcome == "passed"
    monkeypatch.setenv("SOUND_DEBUG", "1")
    rerun, cold = repo.rerun_and_cold("Steered", "mobile-android")
    assert cold.outcome == "failed" and len(rerun.graph_breaks) == 1


def test_a_field_of_a_config_object(repo, monkeypatch):
    assert repo.check("Steered", "mobile-android").outcome == "passed"
    monkeypatch.setattr(sys.modules["sound_config"].CFG, "debug", True)
    rerun, cold = repo.rerun_and_cold("Steered", "mobile-android")
    assert cold.outcome == "failed" and len(rerun.graph_breaks) == 1


def test_dynamo_config_capture_scalar_outputs(repo, configured):
    first = repo.check("Scalar", "mobile-android")
    assert first.outcome == "failed" and first.failures[0].stage == "graph_breaks"
    configured(torch._dynamo.config, capture_scalar_outputs=True)
    rerun, cold = repo.rerun_and_cold("Scalar", "mobile-android")
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


def _verdict_of(d: dict) -> tuple:
    rec = d["recommendation"] or {}
    return (d["outcome"], rec.get("row"), d["numerics"]["ok"] if d["numerics"] else None,
            sorted(f["stage"] for f in d["failures"]))


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
def _replace_vouched_for(path: Path, data: bytes) -> None:
    """Replace a stored file and its line in the entry's manifest: the checksums pass."""
    from pytest_inferencecheck.store.artifacts import MANIFEST, file_sha256

    path.write_bytes(data)
    manifest = path.parent / MANIFEST
    entry = json.loads(manifest.read_text())
    entry["files"][path.name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    manifest.write_text(json.dumps(entry))


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
def two_checks(target: str, model: str, names: tuple[str, str], second_state: str) -> str:
    """A test file of two checks of one model in one run, the second after `second_state`."""
    return "import pytest, torch, sound_config, sound_model\n" + "".join(f'''
@pytest.mark.deploy_target("{target}")
def test_{i}_{name}(inference_check):
    {state or "pass"}
    torch.manual_seed(0)
    inference_check(sound_model.{model}(), (torch.ones(2, 8),), name="{name}")
''' for i, (name, state) in enumerate(zip(names, ("", second_state))))


def run_together(pytester, source: str) -> dict[str, dict]:
    """Run a test file in one pytest run that keeps nothing: each check's result, by name."""
    pytester.makepyfile(sound_helpers=HELPERS, sound_config=CONFIG, sound_model=MODEL,
                        test_together=source)
    pytester.runpytest_subprocess("--inference-check", "--no-inference-check-cache",
                                  "--inference-check-json=r.json", "-p", "no:cacheprovider")
    return {r["identity"]: r for r in
            json.loads((pytester.path / "r.json").read_text())["results"]}


def test_two_checks_of_one_model_in_two_states_share_no_fact_within_a_run(pytester, repo):
    together = run_together(pytester, two_checks("mobile-android", "Steered", ("quiet", "debug"),
                                                 "sound_config.CFG.debug = True"))
    assert together["quiet"]["outcome"] == "passed"
    # the second check alone, cold: its model in its state, in a store of its own
    sys.modules["sound_config"].CFG.debug = True
    alone = repo.check("Steered", "mobile-android", repo.folder / "alone").to_dict()
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


# -- process-wide numeric modes and config objects that decide outputs -------------------------
@pytest.mark.parametrize("seeds", [(3, 10), (10, 3)], ids=["pass-then-fail", "fail-then-pass"])
def test_random_draws_in_forward_are_run_again_and_the_rerun_matches_cold(repo, seeds):
    # The recorded run was replayed under another seed: the rerun took A's outcome, not B's.
    first = repo.check("Drawn", "server-x86-python", seed=seeds[0])
    rerun, cold = repo.rerun_and_cold("Drawn", "server-x86-python", seed=seeds[1])
    assert first.outcome != cold.outcome  # the seed really decides this check
    assert statuses(rerun, "aoti") == ["reused"]  # the package draws at run time: it is kept
    assert statuses(rerun, "run") == [] and any("draws random numbers" in n for n in rerun.notes)


@pytest.fixture
def flushing():
    """`flushing(on)`: torch.set_flush_denormal for this test, put back after it."""
    before = compat.flush_denormal()
    yield lambda on: torch.set_flush_denormal(on) or pytest.skip("this CPU cannot flush")
    torch.set_flush_denormal(before)


def test_flush_denormal_is_keyed_and_the_rerun_matches_cold(repo, flushing):
    flushing(False)
    first = repo.check("Subnormal", "server-x86-python")
    assert first.outcome == "passed", explain(first)
    flushing(True)
    rerun, cold = repo.rerun_and_cold("Subnormal", "server-x86-python")
    assert cold.outcome == "passed", explain(cold)
    assert statuses(rerun, "aoti") == ["built"] and statuses(rerun, "run") == ["built"]


def test_flush_denormal_set_by_a_later_test_of_the_same_run_is_keyed(pytester, repo, flushing):
    together = run_together(pytester, two_checks("server-x86-python", "Subnormal",
                                                 ("plain", "flushing"),
                                                 "torch.set_flush_denormal(True)"))
    flushing(True)  # the second check alone, cold, in a store of its own
    alone = repo.check("Subnormal", "server-x86-python", repo.folder / "alone").to_dict()
    assert _verdict_of(together["flushing"]) == _verdict_of(alone)
    assert together["plain"]["outcome"] == alone["outcome"] == "passed"


PASS = '''
import dataclasses
import torch


@dataclasses.dataclass
class Rewrite:
    """A post-grad pass; its repr is "Rewrite()" whatever its code does."""

    def __call__(self, graph):
        pass
'''

ABS_FOR_RELU = '''
        for node in graph.nodes:
            if node.target is torch.ops.aten.relu.default:
                node.target = torch.ops.aten.abs.default
'''


def _pass_module(repo, body: str = "        pass\n", uuid: str | None = None):
    text = PASS.replace("        pass\n", body)
    if uuid is not None:
        text = text.replace("@dataclasses.dataclass\nclass Rewrite:",
                            "from torch._inductor.custom_graph_pass import CustomGraphPass\n\n\n"
                            "class Rewrite(CustomGraphPass):")
        text += f"\n    def uuid(self):\n        return {uuid!r}\n"
    (repo.folder / "sound_pass.py").write_text(text)
    sys.modules.pop("sound_pass", None)
    return importlib.import_module("sound_pass").Rewrite()


def test_a_custom_pass_torch_cannot_key_keeps_nothing_and_the_rerun_matches_cold(repo,
                                                                                configured):
    # Its repr is all torch's config hash saw: the edited pass reused the package built before.
    configured(torch._inductor.config, post_grad_custom_post_pass=_pass_module(repo))
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed", explain(first)
    assert statuses(first, "aoti") == [] and statuses(first, "run") == []
    detail = next(s.detail for s in first.stages if s.name == "aoti_compile")
    assert "not kept" in detail and "post_grad_custom_post_pass" in detail and "uuid" in detail
    configured(torch._inductor.config,
               post_grad_custom_post_pass=_pass_module(repo, ABS_FOR_RELU))
    rerun, cold = repo.rerun_and_cold("Traced", "server-x86-python")
    assert cold.outcome == "failed" and cold.failures[0].stage == "compare"
    assert not list(repo.warm.glob("v1/entries/aoti/*"))


def test_a_custom_pass_with_a_uuid_is_keyed_by_it(repo, configured):
    configured(torch._inductor.config, post_grad_custom_post_pass=_pass_module(repo, uuid="v1"))
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed" and statuses(first, "aoti") == ["built"], explain(first)
    configured(torch._inductor.config,
               post_grad_custom_post_pass=_pass_module(repo, uuid="v1"))  # a new object, same id
    assert statuses(repo.check("Traced", "server-x86-python"), "aoti") == ["reused"]
    configured(torch._inductor.config,
               post_grad_custom_post_pass=_pass_module(repo, ABS_FOR_RELU, uuid="v2"))
    rerun, cold = repo.rerun_and_cold("Traced", "server-x86-python")
    assert cold.outcome == "failed" and statuses(rerun, "aoti") == ["built"]


def test_a_package_built_before_a_reused_runner_failed_is_labelled_built(repo):
    # The first try built the .pt2 and reused a runner that fails; the retry found that .pt2 in
    # the store, and the check listed the package it had just built as reused.
    (runner,) = [p for p in repo.warm.glob("v1/entries/runner/*/*")
                 if p.name != "manifest.json"]
    _replace_vouched_for(runner, b"#!/bin/sh\nexit 1\n")
    result = repo.check("Traced", "server-x86-cpp")
    assert result.outcome == "passed", explain(result)
    assert any("discarded and built again" in n for n in result.notes)
    assert statuses(result, "aoti") == ["built"] and statuses(result, "runner") == ["built"]
    detail = next(s.detail for s in result.stages if s.name == "aoti_compile")
    assert "reused" not in detail, detail


def test_a_package_is_compiled_in_a_cache_directory_no_other_process_writes(tmp_path,
                                                                           monkeypatch):
    # AOTInductor zips a package's metadata JSON after releasing its file lock: another process
    # compiling the same graph in the same (shared, default) inductor directory truncated it in
    # between, and the C++ runner failed on an empty JSON file (the shuffled, loaded CI run).
    from pytest_inferencecheck.checking.runners.aoti_python import PACKAGE, compile_into

    shared = tmp_path / "shared-inductor-cache"  # what every process of this user would use
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(shared))
    program = torch.export.export(torch.nn.Linear(4, 4), (torch.ones(2, 4),))
    (tmp_path / "entry").mkdir()
    compile_into(program, tmp_path / "entry", "cpu")
    assert (tmp_path / "entry" / PACKAGE).stat().st_size > 0
    # written only in a folder of this process's own inside it (the user chose where)
    written = [p.relative_to(shared) for p in shared.rglob("*") if p.is_file()]
    assert written and {p.parts[0] for p in written} == {
        next(p.name for p in shared.iterdir() if p.name.startswith(f"inferencecheck-{os.getpid()}-"))
    }, written[:5]
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(shared)  # put back after the compile
