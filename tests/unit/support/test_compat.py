"""Each private torch name the package uses is detected on the installed torch (and falls back
safely where it is missing), and compilers are identified by their binary."""

from __future__ import annotations

import inspect
import os
import shutil
import sys

import pytest
import torch

from pytest_inferencecheck.errors import Uncacheable
from pytest_inferencecheck.host import toolchain
from pytest_inferencecheck.support import compat

import models
import numeric_modes


def test_config_hashes_are_found_stable_and_follow_a_change():
    for module in ("torch._inductor.config", "torch._functorch.config"):
        digest = compat.config_hash(module)
        assert isinstance(digest, str) and len(digest) >= 16
        assert compat.config_hash(module) == digest
    before = compat.config_hash("torch._inductor.config")
    with torch._inductor.config.patch(freezing=not torch._inductor.config.freezing):
        assert compat.config_hash("torch._inductor.config") != before
    assert compat.config_hash("torch._inductor.config") == before


def test_a_config_module_without_a_hash_is_not_keyable():
    for module in ("json", "no.such.module"):  # neither get_hash nor a copy; no module at all
        with pytest.raises(Uncacheable, match="cannot be"):
            compat.config_hash(module)


def test_flush_denormal_is_read_from_the_arithmetic():
    before = compat.flush_denormal()
    try:
        assert torch.set_flush_denormal(not before), "this CPU cannot flush denormals"
        assert compat.flush_denormal() is (not before)
    finally:
        torch.set_flush_denormal(before)
    assert compat.flush_denormal() is before


def test_the_compiler_inductor_uses_is_found_as_a_path():
    found = compat.inductor_compiler()
    assert found is not None and os.path.isabs(found) and os.access(found, os.X_OK)
    cxx = os.environ.get("CXX", "g++")
    assert os.path.realpath(found) == os.path.realpath(shutil.which(cxx))
    assert cxx in compat.inductor_search_text()


def test_the_functions_behind_a_custom_op_are_found():
    @torch.library.custom_op("compatlib::triple", mutates_args=())
    def triple(x: torch.Tensor) -> torch.Tensor:
        return x * 3

    @triple.register_fake
    def _(x):
        return torch.empty_like(x)

    functions = compat.custom_op_functions("compatlib::triple")
    names = {f.__code__.co_name for f in functions}
    assert {"triple", "_"} <= names
    assert compat.custom_op_functions("compatlib::missing") is None
    assert isinstance(compat.loaded_op_libraries(), list)


def test_a_compiler_is_identified_by_its_binary(tmp_path):
    real = shutil.which("g++")
    wrapper = tmp_path / "g++"
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    first = toolchain.identity(str(wrapper))
    assert first != toolchain.identity(real)  # same name and version, another binary
    assert toolchain.runs(str(wrapper)) and "g++" in toolchain.version(str(wrapper))
    wrapper.write_text("#!/bin/sh\nexit 1\n")  # the same path, broken now
    assert toolchain.identity(str(wrapper)) != first
    assert not toolchain.runs(str(wrapper))
    assert toolchain.identity(str(tmp_path / "missing")).endswith("|missing")


# Each private name below is detected on the installed torch; where it is hidden (a module set to
# None in sys.modules makes its import fail, as on a torch without it), the fallback answers.

def _hide(monkeypatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)


def test_pytree_is_torchs_own_module():
    pytree = compat.pytree()
    assert pytree.__name__ in ("torch.utils.pytree", "torch.utils._pytree")
    leaves, spec = pytree.tree_flatten(({"a": torch.ones(1)}, [2]))
    assert len(leaves) == 2 and pytree.treespec_loads(pytree.treespec_dumps(spec)) == spec


def test_dynamos_break_logging_method_is_detected(monkeypatch):
    from torch._dynamo import symbolic_convert

    hook = compat.graph_break_hook()  # torch 2.10 to 2.14 have it, in one of two forms
    assert hook is not None and hook.owner is symbolic_convert.InstructionTranslatorBase
    assert "reason" in hook.signature.parameters
    assert {"exc", "user_stack"} & set(hook.signature.parameters)
    monkeypatch.delattr(symbolic_convert.InstructionTranslatorBase, "log_graph_break")
    assert compat.graph_break_hook() is None  # as on torch 2.6: explain() records the breaks


def _as_2_13(real):
    def log_graph_break(self, code_options, reason="", exc=None, *, extra=None):
        return real(self, code_options, *([reason, exc] if exc is not None else [reason]))
    return log_graph_break


def _as_2_10(real):
    # 2.10 passes no exception: the message and the user stack (the keywords Dynamo passes
    # here land in **rest, as if it had not passed them)
    def log_graph_break(self, code_options, reason="", user_stack=None, **rest):
        return real(self, code_options, reason, *rest.values())
    return log_graph_break


@pytest.mark.parametrize("form", [_as_2_13, _as_2_10], ids=["exception", "message-and-stack"])
def test_a_break_logging_method_of_another_form_is_bound_by_name(monkeypatch, form):
    # torch 2.10's method takes (code_options, reason, user_stack), 2.13's (code_options,
    # reason, exc): a recorder that assumed one signature crashed every model with a break.
    from torch._dynamo import symbolic_convert

    from pytest_inferencecheck.measure.graph_breaks import find_graph_breaks

    cls = symbolic_convert.InstructionTranslatorBase
    real = cls.__dict__["log_graph_break"]
    if form is _as_2_13 and "exc" not in inspect.signature(real).parameters:
        pytest.skip("this torch's Dynamo passes no exception to log_graph_break")
    log_graph_break = form(real)
    monkeypatch.setattr(cls, "log_graph_break", log_graph_break)
    breaks, _ = find_graph_breaks(models.ThreeBreaks().eval(), (torch.randn(4, 8),), {})
    assert sorted(b.line for b in breaks) == sorted(
        models.line_of(m) for m in ("print", "branch", "item"))
    assert all(b.type.startswith("GB") and b.function == "forward" for b in breaks)
    assert cls.__dict__["log_graph_break"] is log_graph_break  # put back as it was


def test_break_ids_are_found_or_left_out(monkeypatch):
    ids = compat.graph_break_ids()
    assert ids and all(v.startswith("GB") for v in ids.values())
    _hide(monkeypatch, "torch._dynamo.exc")
    assert compat.graph_break_ids() == {}


def test_the_structured_log_intern_table_is_found_or_left_out(monkeypatch):
    assert isinstance(compat.interned_filenames(), dict)
    _hide(monkeypatch, "torch._logging.structured")
    assert compat.interned_filenames() == {}


def test_draft_export_and_its_report_are_found():
    draft = compat.draft_export()
    assert draft is not None
    report = compat.draft_report(draft(models.DataDependentExport(), (torch.ones(3),), {}))
    assert report is not None and hasattr(report, "failures")
    assert compat.draft_report(object()) is None


def test_kwargs_are_ordered_by_the_input_spec_with_or_without_torchs_helper(monkeypatch):
    class TwoKwargs(torch.nn.Module):
        def forward(self, *, a, b):
            return a - b

    program = torch.export.export(TwoKwargs(), (), {"a": torch.ones(1), "b": torch.zeros(1)})
    spec = program.call_spec.in_spec
    given = {"b": torch.zeros(1), "a": torch.ones(1)}
    assert list(compat.reorder_kwargs(given, spec)) == ["a", "b"]
    _hide(monkeypatch, "torch.export._tree_utils")
    assert list(compat.reorder_kwargs(given, spec)) == ["a", "b"]


def test_aotinductors_packaging_api_is_found(monkeypatch):
    aoti = compat.aoti()
    assert aoti is not None and callable(aoti.compile_and_package) and callable(aoti.load_package)
    monkeypatch.delattr(torch._inductor, "aoti_load_package")
    assert compat.aoti() is None


def test_an_operators_schema_is_read():
    assert "Tensor self" in compat.op_schema(torch.ops.aten.add, "Tensor")
    assert compat.op_schema(torch.ops.aten.add, "no_such_overload") is None


def test_executorchs_flatc_is_found_where_an_older_executorch_would_miss_it(monkeypatch, tmp_path):
    pytest.importorskip("executorch")
    from importlib import resources

    shipped = resources.files("executorch.data.bin").joinpath("flatc")
    monkeypatch.delenv("FLATC_EXECUTABLE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no flatc on PATH
    if shipped.is_file():
        assert compat.executorch_flatc() == str(shipped)
        assert os.environ["FLATC_EXECUTABLE"] == str(shipped)
        assert compat.executorch_flatc() is None  # set already: left alone
    else:  # a release that ships none: nothing to point at
        assert compat.executorch_flatc() is None and "FLATC_EXECUTABLE" not in os.environ


def test_what_torch_writes_during_a_compile_does_not_change_a_key(monkeypatch, tmp_path):
    # torch's first AOTInductor compile fills aot_inductor.metadata in place (2.10 hashes it)
    # and inductor sets TORCHINDUCTOR_CACHE_DIR on first use (2.10): neither decides what is
    # built, and a key read before the first compile must equal one read after it.
    from pytest_inferencecheck.store.keys import runtime_state

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    before = runtime_state()
    metadata = torch._inductor.config.aot_inductor.metadata
    with torch._inductor.config.patch({"aot_inductor.metadata": dict(metadata)}):
        torch._inductor.config.aot_inductor.metadata.update(
            {"AOTI_DEVICE_KEY": "cpu", "AOTI_CPU_ISA": "AVX2"})
        monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
        assert runtime_state() == before
    with torch._inductor.config.patch(freezing=not torch._inductor.config.freezing):
        assert runtime_state() != before  # what does decide a build still counts


def test_dynamos_explain_is_found_or_reported_missing(monkeypatch):
    import torch._dynamo

    assert compat.dynamo_explain() is torch._dynamo.explain
    monkeypatch.delattr(torch._dynamo, "explain")
    assert compat.dynamo_explain() is None


def test_an_error_inside_inductors_compiler_search_is_not_taken_for_a_missing_compiler(
        monkeypatch):
    # Issue 19: any exception from inductor's search (an import error deep in inductor, say)
    # became "no working C++ compiler", a host fault with advice to install g++.
    import torch._inductor.cpp_builder as cpp_builder

    def broken():
        raise ImportError("cannot import name 'x' from 'torch._inductor.codecache'")

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", broken)
    with pytest.raises(ImportError, match="torch._inductor.codecache"):
        compat.inductor_compiler()

    from torch._inductor.exc import InvalidCxxCompiler

    def none_runs():
        raise InvalidCxxCompiler()

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", none_runs)
    assert compat.inductor_compiler() is None  # inductor's own verdict: no compiler runs


def test_inductors_cpu_probe_is_found_or_left_to_inductor(monkeypatch):
    import importlib

    from torch._inductor import cpu_vec_isa

    for name in compat.CPU_PROBE_MODULES:
        importlib.import_module(name)  # every module the probe needs exists on this torch
    picked = []
    monkeypatch.setattr(cpu_vec_isa, "pick_vec_isa",
                        lambda real=cpu_vec_isa.pick_vec_isa: picked.append(real()))
    assert compat.probe_cpu_isa() is True and len(picked) == 1  # inductor's own pick ran
    monkeypatch.delattr(cpu_vec_isa, "x86_isa_checker")  # a torch that moved the name
    assert compat.probe_cpu_isa() is False


def test_a_torch_without_a_probe_module_starts_no_probe(monkeypatch, tmp_path):
    # The fallback for a module torch moved or dropped: nothing is started (inductor probes
    # when it first compiles, as it would), and nothing raises.
    from pytest_inferencecheck.host import prewarm
    from pytest_inferencecheck.store.artifacts import ArtifactStore

    monkeypatch.setattr(compat, "CPU_PROBE_MODULES",
                        (*compat.CPU_PROBE_MODULES, "torch._inductor.no_such_module"))
    store = ArtifactStore(tmp_path / "store")
    try:
        assert prewarm.probe_cpu(store) is None
    finally:
        store.release()


def _flip(owner, name, to):
    before = getattr(owner, name)
    setattr(owner, name, to(before))
    return lambda: setattr(owner, name, before)


def _call(setter, getter, to):
    before = getter()
    setter(to(before))
    return lambda: setter(before)


# Each flips one process-wide numeric mode for real and returns how to undo it.
NUMERIC_MODES = {
    "flush_denormal": lambda: _call(torch.set_flush_denormal, compat.flush_denormal,
                                    lambda on: not on),
    "threads": lambda: _call(torch.set_num_threads, torch.get_num_threads,
                             lambda n: n - 1 if n > 1 else 2),
    "matmul_precision": lambda: numeric_modes.matmul_precision(
        lambda p: "medium" if p != "medium" else "high"),
    "mkldnn_matmul_precision": lambda: _flip(torch.backends.mkldnn.matmul, "fp32_precision",
                                             lambda p: "bf16" if p != "bf16" else "none"),
    "mkldnn_deterministic": lambda: _flip(torch.backends.mkldnn, "deterministic",
                                          lambda on: not on),
    "fill_uninitialized_memory": lambda: _flip(torch.utils.deterministic,
                                               "fill_uninitialized_memory", lambda on: not on),
    "quantized_engine": lambda: _flip(torch.backends.quantized, "engine",
                                      lambda e: next(x for x in
                                                     torch.backends.quantized.supported_engines
                                                     if x != e)),
    "math_sdp": lambda: _call(torch.backends.cuda.enable_math_sdp,
                              torch.backends.cuda.math_sdp_enabled, lambda on: not on),
}


@pytest.mark.parametrize("mode", NUMERIC_MODES)
def test_each_process_wide_numeric_mode_moves_the_key(mode):
    from pytest_inferencecheck.store.keys import runtime_state

    before = runtime_state()
    undo = NUMERIC_MODES[mode]()
    try:
        assert runtime_state() != before
    finally:
        undo()
    assert runtime_state() == before



def test_an_operators_name_is_read_or_left_out(monkeypatch):
    import torch

    assert compat.operator_name(torch.ops.aten.add.Tensor) == "aten::add.Tensor"
    assert compat.operator_name(len) is None  # ExecuTorch's alloc, a getitem: not an operator
    monkeypatch.delattr(torch._ops, "OpOverload")  # a torch without the class: no names
    assert compat.operator_name(torch.ops.aten.add.Tensor) is None


def test_inductors_cache_directory_is_found_or_falls_back(monkeypatch):
    import tempfile

    from torch._inductor.runtime import cache_dir_utils

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    assert compat._inductor_cache_dir() == os.path.abspath(cache_dir_utils.default_cache_dir())
    monkeypatch.delattr(cache_dir_utils, "default_cache_dir")  # a torch without it
    assert compat._inductor_cache_dir() == os.path.join(tempfile.gettempdir(), "torchinductor")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "rel/dir")
    assert compat._inductor_cache_dir() == os.path.abspath("rel/dir")


def test_what_torchs_caches_leave_out_of_a_key_is_left_out(monkeypatch, tmp_path):
    """Issue 33: torch sets `xpu.cutlass_dir` to the working directory, and the config's hash
    followed it, so a run started from another folder missed every entry. Torch's own caches
    leave out `_cache_config_ignore_prefix`; so does the key, and a real option still moves it."""
    from torch._inductor import config

    base, autotune = compat.config_hash("torch._inductor.config"), config.max_autotune
    monkeypatch.chdir(tmp_path)
    # torch's own patch: monkeypatch's undo deletes a config option (`max_autotune does not
    # exist` in every later compile of the worker), it does not restore it
    with config.patch({"xpu.cutlass_dir": str(tmp_path),
                       "cuda.cutlass_dir": str(tmp_path / "cutlass")}):
        assert compat.config_hash("torch._inductor.config") == base
        assert "xpu.cutlass_dir" in compat._cache_ignored(config)
        with config.patch(max_autotune=not config.max_autotune):
            assert compat.config_hash("torch._inductor.config") != base
    assert config.max_autotune is autotune and compat.config_hash("torch._inductor.config") == base


def test_torch_is_keyed_by_its_sources_or_by_where_it_is(monkeypatch):
    from torch._inductor.codecache import torch_key

    assert compat.torch_source_key() == torch_key().hex()  # content: the same in any folder
    monkeypatch.setitem(sys.modules, "torch._inductor.codecache", None)  # a torch without it
    fallback = compat.torch_source_key()
    assert torch.__version__ in fallback and os.path.dirname(torch.__file__) in fallback
