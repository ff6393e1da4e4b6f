"""IC1xx: superseded capture, compile and serialization entry points of PyTorch 1.x and 2.x."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pytest_inferencecheck.lint.rules import (
    AOTI_DOCS,
    EXPORT_DOCS,
    NOTE,
    PYTORCH_DOCS,
    Fields,
    Rule,
    compile_api,
    display,
)

_EXPORT = "torch.export.export(model, example_inputs)"
_AOTI = "pkg = torch._inductor.aoti_compile_and_package(torch.export.export(model, (x,)))"
_SUPERSEDED = ("TorchScript is in maintenance mode; PyTorch 2.x deploys through torch.export "
               "(AOTInductor on servers, ExecuTorch on devices) or torch.compile.")
_ONNX_DOCS = f"{PYTORCH_DOCS}/onnx.html"

LITE_METHODS = {"_save_for_lite_interpreter", "_save_to_buffer_for_lite_interpreter"}
TORCHSCRIPT_BACKENDS = {"ts", "aot_ts"}


def _lite_methods(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    """Methods that exist only on TorchScript modules: matched by name on any receiver."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in LITE_METHODS and qual is None:
        yield {"api": f".{node.func.attr}()"}


def _onnx_legacy(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    """`torch.onnx.export(..., dynamo=<anything but True>)`; a missing `dynamo` is True (the
    default since torch 2.9)."""
    if not isinstance(node, ast.Call) or qual != "torch.onnx.export":
        return
    for k in node.keywords:
        if k.arg == "dynamo" and not (isinstance(k.value, ast.Constant) and
                                      k.value.value is True):
            yield {"api": f"torch.onnx.export(..., dynamo={display(k.value)})"}


def _torchscript_backend(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    """`torch.compile(m, backend="ts")`, `model.compile(backend="aot_ts")`,
    `torch._dynamo.optimize("ts")`."""
    if not isinstance(node, ast.Call):
        return
    if compile_api(node, qual):
        values = [k.value for k in node.keywords if k.arg == "backend"]
    elif qual == "torch._dynamo.optimize":
        values = [k.value for k in node.keywords if k.arg == "backend"] + node.args[:1]
    else:
        return
    for v in values:
        if isinstance(v, ast.Constant) and v.value in TORCHSCRIPT_BACKENDS:
            yield {"api": f"backend={v.value!r}"}


RULES: tuple[Rule, ...] = (
    Rule("IC101", "torch-jit-script",
         "`torch.jit.script` is superseded: export with `torch.export.export` and deploy with "
         "AOTInductor or ExecuTorch (or use `torch.compile` in Python)",
         "Finds `torch.jit.script` calls and `@torch.jit.script` decorators.", _SUPERSEDED,
         "scripted = torch.jit.script(model)",
         f"ep = {_EXPORT}\npkg = torch._inductor.aoti_compile_and_package(ep)",
         (EXPORT_DOCS, NOTE), on=("call", "decorator"), apis=frozenset({"torch.jit.script"})),
    Rule("IC102", "torch-jit-trace",
         "`{api}` is superseded: capture the graph with `torch.export.export`",
         "Finds `torch.jit.trace` and `torch.jit.trace_module`.",
         _SUPERSEDED + " Tracing silently bakes in control flow; export reports it.",
         "traced = torch.jit.trace(model, (x,))", f"ep = {_EXPORT}", (EXPORT_DOCS, NOTE),
         apis=frozenset({"torch.jit.trace", "torch.jit.trace_module"})),
    Rule("IC103", "torch-jit-script-method",
         "`torch.jit.script_method` is superseded: drop it and export the module with "
         "`torch.export.export`", "Finds `@torch.jit.script_method` and calls to it.",
         _SUPERSEDED, "@torch.jit.script_method\ndef forward(self, x): ...",
         "def forward(self, x): ...\n# then: torch.export.export(module, (x,))",
         (EXPORT_DOCS, NOTE), on=("call", "decorator"),
         apis=frozenset({"torch.jit.script_method"})),
    Rule("IC104", "torch-jit-save-load",
         "`{api}` serializes TorchScript: save an exported program (`torch.export.save`) or an "
         "AOTI package (`aoti_compile_and_package`) instead",
         "Finds `torch.jit.save` and `torch.jit.load`.", _SUPERSEDED,
         "torch.jit.save(scripted, 'model.pt')",
         "torch.export.save(ep, 'model.pt2')  # or aoti_compile_and_package(ep, package_path=...)",
         (f"{EXPORT_DOCS}#serialization", NOTE),
         apis=frozenset({"torch.jit.save", "torch.jit.load"})),
    Rule("IC105", "aot-compile",
         "`{api}` is deprecated: use "
         "`torch._inductor.aoti_compile_and_package(torch.export.export(...))`",
         "Finds `torch._export.aot_compile` and `torch._inductor.aot_compile`.",
         "The original AOTInductor entry points produce a bare shared library; they were "
         "replaced by the .pt2 package API that AOTInductor's Python and C++ loaders read.",
         "so_path = torch._export.aot_compile(model, (x,))", _AOTI, (AOTI_DOCS, NOTE),
         apis=frozenset({"torch._export.aot_compile", "torch._inductor.aot_compile"})),
    Rule("IC106", "aot-load",
         "`torch._export.aot_load` is deprecated: load the package with "
         "`torch._inductor.aoti_load_package`",
         "Finds `torch._export.aot_load`.", "Replaced by the .pt2 package loader.",
         "runner = torch._export.aot_load(so_path, 'cpu')",
         "runner = torch._inductor.aoti_load_package('model.pt2')", (AOTI_DOCS, NOTE),
         apis=frozenset({"torch._export.aot_load"})),
    Rule("IC107", "lite-interpreter",
         "`{api}`: the TorchScript lite interpreter is superseded by ExecuTorch: lower with "
         "`executorch.exir.to_edge_transform_and_lower` and ship a `.pte`",
         "Finds `_save_for_lite_interpreter`, `_save_to_buffer_for_lite_interpreter` and "
         "`_load_for_lite_interpreter`.",
         "PyTorch Mobile (lite interpreter) is replaced by ExecuTorch (rows 1-2 of the table).",
         "scripted._save_for_lite_interpreter('model.ptl')",
         "edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])\n"
         "open('model.pte', 'wb').write(edge.to_executorch().buffer)",
         ("https://pytorch.org/executorch/", NOTE),
         apis=frozenset({"torch.jit._load_for_lite_interpreter",
                         "torch.jit.mobile._load_for_lite_interpreter"}), match=_lite_methods,
         triggers=frozenset(f".{m}" for m in LITE_METHODS)),
    Rule("IC108", "optimize-for-mobile",
         "`optimize_for_mobile` belongs to PyTorch Mobile: deploy to devices with ExecuTorch "
         "(XNNPACK, Core ML, Vulkan... partitioners) instead",
         "Finds `torch.utils.mobile_optimizer.optimize_for_mobile`.",
         "PyTorch Mobile is superseded by ExecuTorch (rows 1-2).",
         "optimized = optimize_for_mobile(scripted)",
         "edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])",
         ("https://pytorch.org/executorch/", NOTE),
         apis=frozenset({"torch.utils.mobile_optimizer.optimize_for_mobile"})),
    Rule("IC109", "onnx-legacy-export",
         "`{api}` may use the legacy TorchScript exporter: call `torch.onnx.export(..., "
         "dynamo=True)` (the torch.export-based exporter)",
         "Finds `torch.onnx.utils.export`, and `torch.onnx.export` calls whose `dynamo=` is not "
         "the constant `True` (`False`, or a variable that may be false).",
         "The TorchScript-based ONNX exporter is deprecated in favour of the torch.export one; "
         "a `dynamo=` flag computed at run time hides which of the two a deployment uses.",
         "torch.onnx.export(model, (x,), 'm.onnx', dynamo=use_dynamo)",
         "torch.onnx.export(model, (x,), 'm.onnx', dynamo=True)", (_ONNX_DOCS,),
         apis=frozenset({"torch.onnx.utils.export"}), match=_onnx_legacy,
         triggers=frozenset({"torch.onnx.export"})),
    Rule("IC110", "onnx-dynamo-export",
         "`torch.onnx.dynamo_export` was removed: use `torch.onnx.export(..., dynamo=True)`",
         "Finds `torch.onnx.dynamo_export`.", "The function no longer exists in current torch.",
         "torch.onnx.dynamo_export(model, x)",
         "torch.onnx.export(model, (x,), dynamo=True)", (_ONNX_DOCS,),
         apis=frozenset({"torch.onnx.dynamo_export"})),
    Rule("IC111", "dynamo-export",
         "`torch._dynamo.export` is the private predecessor of torch.export: call "
         "`torch.export.export(model, args)` and deploy the ExportedProgram",
         "Finds `torch._dynamo.export`.",
         "It returns a bare GraphModule without the ExportedProgram's signature, guards or "
         "serialization; neither AOTInductor nor ExecuTorch accepts it.",
         "gm, guards = torch._dynamo.export(model)(x)", f"ep = {_EXPORT}",
         (EXPORT_DOCS, NOTE), apis=frozenset({"torch._dynamo.export"})),
    Rule("IC112", "private-export-entry-point",
         "`{api}` is a private or removed capture API: call `torch.export.export(model, args)` "
         "(quantization takes its `.module()`)",
         "Finds `torch._export.capture_pre_autograd_graph` and `torch.export._trace._export`.",
         "`capture_pre_autograd_graph` was removed (PT2E quantization now starts from "
         "`torch.export.export(...).module()`), and `torch.export._trace._export` is internal "
         "and changes between releases.",
         "gm = capture_pre_autograd_graph(model, (x,))",
         "gm = torch.export.export(model, (x,)).module()", (EXPORT_DOCS, NOTE),
         apis=frozenset({"torch._export.capture_pre_autograd_graph",
                         "torch.export._trace._export"})),
    Rule("IC113", "torchscript-optimization",
         "`{api}` optimizes a TorchScript module: deploy the exported program with AOTInductor "
         "(its freezing is on by default for inference) or use `torch.compile`",
         "Finds `torch.jit.freeze` and `torch.jit.optimize_for_inference`.", _SUPERSEDED,
         "frozen = torch.jit.freeze(torch.jit.script(model.eval()))", _AOTI,
         (AOTI_DOCS, NOTE), apis=frozenset({"torch.jit.freeze",
                                              "torch.jit.optimize_for_inference"})),
    Rule("IC114", "torchscript-compile-backend",
         "`{api}` compiles through TorchScript: use the default inductor backend "
         "(`torch.compile(model)`)",
         "Finds `torch.compile(..., backend=\"ts\")` and `\"aot_ts\"`, on `torch.compile`, "
         "`module.compile()` and `torch._dynamo.optimize`.",
         "The TorchScript backends of torch.compile are kept for debugging only; inductor is "
         "the backend the table's torch.compile rows are measured with.",
         "model = torch.compile(model, backend=\"ts\")", "model = torch.compile(model)",
         (f"{PYTORCH_DOCS}/torch.compiler.html", NOTE), match=_torchscript_backend,
         triggers=frozenset({"torch.compile", "torch._dynamo.optimize", ".compile"})),
)
