"""IC1xx: superseded capture, compile and serialization entry points of PyTorch 1.x and 2.x."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pytest_inferencecheck.lint.fixes import SAFE, UNSAFE, Edit, Fix
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

FUNCTORCH_COND = {"functorch.experimental.control_flow.cond", "functorch.experimental.cond"}
FUNCTORCH_COMPILERS = {f"functorch.compile.{n}" for n in (
    "aot_function", "aot_module", "aot_module_simplified", "memory_efficient_fusion",
    "compiled_function", "compiled_module", "ts_compile", "nnc_jit", "draw_graph_compile",
    "debug_compile")}
MOBILE_HELPERS = {
    "torch.backends._nnapi.prepare.convert_model_to_nnapi",
    "torch.backends._nnapi.prepare.process_for_nnapi",
    "torch.utils.bundled_inputs.augment_model_with_bundled_inputs",
    "torch.utils.bundled_inputs.augment_many_model_functions_with_bundled_inputs",
    "torch.utils.bundled_inputs.bundle_inputs",
    "torch.utils.mobile_optimizer.generate_mobile_module_lints",
    "torch._C._jit_to_backend",
    "torch.backends._coreml.preprocess.CompileSpec",
    "torch.jit.mobile._export_operator_list",
    "torch.jit._export_opnames",
}
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


def _torch_bound(ctx) -> bool:
    """Is `torch` the torch module here (a fix may then spell `torch.export.export`)?"""
    return ctx.qualname(ast.Name(id="torch")) == "torch"


def _rename_attribute(node: ast.AST, new: str, ctx) -> Edit | None:
    """`torch.onnx.dynamo_export` -> `torch.onnx.export`: rename the call's last attribute,
    which keeps whatever the user imported (`torch`, `onnx`); None for a bare name."""
    fn = node.func if isinstance(node, ast.Call) else node
    if not isinstance(fn, ast.Attribute):
        return None
    src = ctx.source
    return src.replace(fn, f"{src.text(fn.value)}.{new}")


def _fix_dynamo_export(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """`dynamo_export(m, x, y, k=v)` -> `export(m, (x, y), kwargs={"k": v}, dynamo=True)`."""
    if not isinstance(node, ast.Call) or qual != "torch.onnx.dynamo_export" or not node.args or \
            any(isinstance(a, ast.Starred) for a in node.args) or \
            any(k.arg == "export_options" for k in node.keywords):
        return None
    rename = _rename_attribute(node, "export", ctx)
    if rename is None:
        return None
    src = ctx.source
    rest = [src.text(a) for a in node.args[1:]]
    args = f"({rest[0]},)" if len(rest) == 1 else f"({', '.join(rest)})"
    kwargs = [f'"{k.arg}": {src.text(k.value)}' if k.arg else f"**{src.text(k.value)}"
              for k in node.keywords]
    call = f"{rename.content}({src.text(node.args[0])}, {args}"
    call += f", kwargs={{{', '.join(kwargs)}}}" if kwargs else ""
    return Fix(UNSAFE, "Call `torch.onnx.export(..., dynamo=True)`",
               (src.replace(node, call + ", dynamo=True)"),))


def _fix_onnx_dynamo_false(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """`torch.onnx.export(..., dynamo=False)` -> `dynamo=True`."""
    if not isinstance(node, ast.Call) or qual != "torch.onnx.export":
        return None
    for k in node.keywords:
        if k.arg == "dynamo" and isinstance(k.value, ast.Constant) and k.value.value is False:
            return Fix(UNSAFE, "Export with `dynamo=True`",
                       (ctx.source.replace(k.value, "True"),))
    return None


def _fix_private_export(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """`capture_pre_autograd_graph(m, args)` -> `torch.export.export(m, args).module()`;
    `torch.export.export_for_training(...)` -> `torch.export.export(...)`."""
    if not isinstance(node, ast.Call):
        return None
    src = ctx.source
    if qual == "torch.export.export_for_training":
        rename = _rename_attribute(node, "export", ctx)
        return None if rename is None else Fix(UNSAFE, "Call `torch.export.export`", (rename,))
    if qual == "torch._export.capture_pre_autograd_graph" and _torch_bound(ctx):
        return Fix(UNSAFE, "Call `torch.export.export(...).module()`",
                   (src.replace(node.func, "torch.export.export"),
                    src.insert(src.end(node), ".module()")))
    return None


def _fix_torchscript_backend(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """Drop `backend="ts"` (inductor is the default); `optimize("ts")` -> `optimize("inductor")`."""
    if not isinstance(node, ast.Call):
        return None
    src = ctx.source
    for i, k in enumerate(node.keywords):
        if k.arg == "backend" and isinstance(k.value, ast.Constant) and \
                k.value.value in TORCHSCRIPT_BACKENDS:
            before = [*node.args, *node.keywords[:i]]
            after = node.keywords[i + 1:]
            if before:  # `f(m, backend="ts", ...)`: from the end of the argument before it
                last = max(before, key=lambda n: (n.end_lineno, n.end_col_offset))
                edit = src.delete_between(src.end(last), src.end(k))
            elif after:  # `f(backend="ts", mode=...)`: up to the next argument
                edit = src.delete_between(src.start(k), src.start(after[0]))
            else:
                edit = src.replace(k, "")
            return Fix(UNSAFE, "Use the default inductor backend", (edit,))
    if qual == "torch._dynamo.optimize" and node.args and \
            isinstance(node.args[0], ast.Constant) and node.args[0].value in TORCHSCRIPT_BACKENDS:
        return Fix(UNSAFE, "Use the inductor backend", (src.replace(node.args[0], '"inductor"'),))
    return None


def _fix_functorch_cond(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """`functorch.experimental.control_flow.cond(...)` -> `torch.cond(...)` (the same
    function), where `torch` is bound here."""
    if isinstance(node, ast.Call) and qual in FUNCTORCH_COND and _torch_bound(ctx):
        return Fix(SAFE, "Call `torch.cond`", (ctx.source.replace(node.func, "torch.cond"),))
    return None


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
         triggers=frozenset({"torch.onnx.export"}), fixer=_fix_onnx_dynamo_false,
         fixable=UNSAFE, fix_note="`dynamo=False` becomes `dynamo=True`: the other exporter "
         "may produce a different graph or fail where the old one did not. `torch.onnx.utils."
         "export` and a computed `dynamo=` value are left for you."),
    Rule("IC110", "onnx-dynamo-export",
         "`{api}` no longer exists (the dynamo_export exporter was removed from torch): use "
         "`torch.onnx.export(..., dynamo=True)`",
         "Finds `torch.onnx.dynamo_export` and its companions `torch.onnx.ExportOptions` and "
         "`torch.onnx.enable_fake_mode`.",
         "They no longer exist in current torch (removed in 2.9): the call fails.",
         "torch.onnx.dynamo_export(model, x)",
         "torch.onnx.export(model, (x,), dynamo=True)", (_ONNX_DOCS,),
         apis=frozenset({"torch.onnx.dynamo_export", "torch.onnx.ExportOptions",
                         "torch.onnx.enable_fake_mode"}),
         fixer=_fix_dynamo_export, fixable=UNSAFE,
         fix_note="`dynamo_export(m, *args, **kwargs)` becomes `export(m, args, kwargs=kwargs, "
         "dynamo=True)`; `export` takes other options and saves differently. A call with "
         "`export_options=`, starred arguments or a bare imported name is left for you."),
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
         "Finds `torch._export.capture_pre_autograd_graph`, `torch.export.export_for_training`, "
         "`torch.export.export_for_inference` and `torch.export._trace._export`.",
         "`capture_pre_autograd_graph` was removed (PT2E quantization now starts from "
         "`torch.export.export(...).module()`), `export_for_training` and "
         "`export_for_inference` were deprecated into `torch.export.export` and removed, and "
         "`torch.export._trace._export` is internal and changes between releases.",
         "gm = capture_pre_autograd_graph(model, (x,))",
         "gm = torch.export.export(model, (x,)).module()", (EXPORT_DOCS, NOTE),
         apis=frozenset({"torch._export.capture_pre_autograd_graph",
                         "torch.export.export_for_training", "torch.export.export_for_inference",
                         "torch.export._trace._export"}),
         fixer=_fix_private_export, fixable=UNSAFE,
         fix_note="`export_for_training(...)` becomes `torch.export.export(...)` and "
         "`capture_pre_autograd_graph(m, args)` becomes `torch.export.export(m, args).module()`: "
         "the graph torch.export traces (its decompositions, strictness) may differ from the "
         "old entry point's."),
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
         triggers=frozenset({"torch.compile", "torch._dynamo.optimize", ".compile"}),
         fixer=_fix_torchscript_backend, fixable=UNSAFE,
         fix_note="The `backend=` argument is dropped (inductor is the default): a different "
         "compiler, whose numerics and supported operators differ."),
    Rule("IC115", "pytorch-mobile-helper",
         "`{api}` belongs to PyTorch Mobile (TorchScript on devices): lower with "
         "`executorch.exir.to_edge_transform_and_lower` and a partitioner (XNNPACK, Core ML, "
         "Vulkan, QNN...) instead",
         "Finds NNAPI conversion (`torch.backends._nnapi`), bundled inputs "
         "(`torch.utils.bundled_inputs`), mobile module lints, TorchScript's `to_backend` and "
         "operator-list export.",
         "These helpers prepare TorchScript modules for the lite interpreter, which ExecuTorch "
         "replaces; NNAPI is deprecated by Android itself.",
         "nnapi_model = convert_model_to_nnapi(torch.jit.trace(model, x), x)",
         "edge = to_edge_transform_and_lower(torch.export.export(model, (x,)),\n"
         "                                   partitioner=[XnnpackPartitioner()])",
         ("https://pytorch.org/executorch/", NOTE), apis=frozenset(MOBILE_HELPERS)),
    Rule("IC116", "export-dynamic-dim",
         "`torch.export.dynamic_dim` was removed: declare dynamic sizes with `torch.export.Dim` "
         "in `dynamic_shapes=`",
         "Finds `torch.export.dynamic_dim`.",
         "Constraints built with `dynamic_dim` were replaced by `Dim` objects passed as "
         "`dynamic_shapes`; the function no longer exists (the call fails).",
         "ep = torch.export.export(m, (x,), constraints=[dynamic_dim(x, 0)])",
         "batch = torch.export.Dim(\"batch\")\n"
         "ep = torch.export.export(m, (x,), dynamic_shapes={\"x\": {0: batch}})",
         (f"{EXPORT_DOCS}#expressing-dynamism", NOTE),
         apis=frozenset({"torch.export.dynamic_dim", "torch._export.dynamic_dim"})),
    Rule("IC117", "functorch-control-flow",
         "`{api}` is the old spelling of `torch.cond`: call `torch.cond`",
         "Finds `functorch.experimental.control_flow.cond` (and `functorch.experimental.cond`).",
         "functorch was merged into torch; `torch.cond` is the documented, exportable control-"
         "flow operator and the same function.",
         "from functorch.experimental.control_flow import cond\n"
         "y = cond(pred, true_fn, false_fn, (x,))",
         "y = torch.cond(pred, true_fn, false_fn, (x,))", (f"{PYTORCH_DOCS}/cond.html",),
         apis=frozenset(FUNCTORCH_COND), fixer=_fix_functorch_cond, fixable=SAFE,
         fix_note="`torch.cond` is the same function object. Offered only where `torch` is "
         "imported as itself (no import is added)."),
    Rule("IC118", "functorch-compiler",
         "`{api}` is a functorch compiler entry point: use `torch.compile` (Python) or "
         "`torch.export.export` with AOTInductor (deployment)",
         "Finds `functorch.compile.aot_function`, `aot_module`, `memory_efficient_fusion`, "
         "`ts_compile` and the other functorch-era compilers.",
         "They predate torch.compile (AOTAutograd is now inside it); `ts_compile` and "
         "`memory_efficient_fusion` compile through TorchScript or NVFuser, both retired.",
         "fast = memory_efficient_fusion(model)", "fast = torch.compile(model)",
         (f"{PYTORCH_DOCS}/torch.compiler.html", NOTE), apis=frozenset(FUNCTORCH_COMPILERS)),
)
