"""The lint rules as data: code, name, message (what to do instead), documentation, default."""

from __future__ import annotations

from dataclasses import dataclass

PYTORCH_DOCS = "https://pytorch.org/docs/stable"


@dataclass(frozen=True)
class Rule:
    """One lint rule. `message` says what to do instead; `doc` follows ruff's headings."""

    code: str
    name: str
    message: str
    what: str
    why: str
    example: str
    instead: str
    references: tuple[str, ...]
    default: bool = True

    @property
    def advisory(self) -> bool:
        """IC3xx rules are hints, not deviations."""
        return self.code.startswith("IC3")

    def doc(self) -> str:
        """The rule's documentation, as `--explain` prints it."""
        refs = "\n".join(f"- {r}" for r in self.references)
        return (f"{self.code} {self.name}{'' if self.default else ' (off by default)'}\n\n"
                f"## What it does\n{self.what}\n\n## Why is this bad?\n{self.why}\n\n"
                f"## Example\n```python\n{self.example}\n```\n\n"
                f"## Use instead\n```python\n{self.instead}\n```\n\n## References\n{refs}\n")


_EXPORT = "torch.export.export(model, example_inputs)"
_SUPERSEDED = ("TorchScript is in maintenance mode; PyTorch 2.x deploys through torch.export "
               "(AOTInductor on servers, ExecuTorch on devices) or torch.compile.")
_NOTE = "PyTorch 2.x Inference Recommendations (dev-discuss.pytorch.org, thread 2506)"

RULES: tuple[Rule, ...] = (
    Rule("IC101", "torch-jit-script",
         "`torch.jit.script` is superseded: export with `torch.export.export` and deploy with "
         "AOTInductor or ExecuTorch (or use `torch.compile` in Python)",
         "Finds `torch.jit.script` calls and `@torch.jit.script` decorators.", _SUPERSEDED,
         "scripted = torch.jit.script(model)",
         f"ep = {_EXPORT}\npkg = torch._inductor.aoti_compile_and_package(ep)",
         (f"{PYTORCH_DOCS}/export.html", _NOTE)),
    Rule("IC102", "torch-jit-trace",
         "`torch.jit.trace`/`trace_module` are superseded: capture the graph with "
         "`torch.export.export`", "Finds `torch.jit.trace` and `torch.jit.trace_module`.",
         _SUPERSEDED + " Tracing silently bakes in control flow; export reports it.",
         "traced = torch.jit.trace(model, (x,))", f"ep = {_EXPORT}",
         (f"{PYTORCH_DOCS}/export.html", _NOTE)),
    Rule("IC103", "torch-jit-script-method",
         "`torch.jit.script_method` is superseded: drop it and export the module with "
         "`torch.export.export`", "Finds `@torch.jit.script_method` and calls to it.",
         _SUPERSEDED, "@torch.jit.script_method\ndef forward(self, x): ...",
         "def forward(self, x): ...\n# then: torch.export.export(module, (x,))",
         (f"{PYTORCH_DOCS}/export.html", _NOTE)),
    Rule("IC104", "torch-jit-save-load",
         "`torch.jit.save`/`torch.jit.load` serialize TorchScript: save an exported program "
         "(`torch.export.save`) or an AOTI package (`aoti_compile_and_package`) instead",
         "Finds `torch.jit.save` and `torch.jit.load`.", _SUPERSEDED,
         "torch.jit.save(scripted, 'model.pt')",
         "torch.export.save(ep, 'model.pt2')  # or aoti_compile_and_package(ep, package_path=...)",
         (f"{PYTORCH_DOCS}/export.html#serialization", _NOTE)),
    Rule("IC105", "aot-compile",
         "`torch._export.aot_compile` is deprecated: use "
         "`torch._inductor.aoti_compile_and_package(torch.export.export(...))`",
         "Finds `torch._export.aot_compile`.",
         "The note's original AOTI entry point; it was replaced by the .pt2 package API.",
         "so_path = torch._export.aot_compile(model, (x,))",
         "pkg = torch._inductor.aoti_compile_and_package(torch.export.export(model, (x,)))",
         (f"{PYTORCH_DOCS}/torch.compiler_aot_inductor.html", _NOTE)),
    Rule("IC106", "aot-load",
         "`torch._export.aot_load` is deprecated: load the package with "
         "`torch._inductor.aoti_load_package`",
         "Finds `torch._export.aot_load`.", "Replaced by the .pt2 package loader.",
         "runner = torch._export.aot_load(so_path, 'cpu')",
         "runner = torch._inductor.aoti_load_package('model.pt2')",
         (f"{PYTORCH_DOCS}/torch.compiler_aot_inductor.html", _NOTE)),
    Rule("IC107", "lite-interpreter",
         "the TorchScript lite interpreter is superseded by ExecuTorch: lower with "
         "`executorch.exir.to_edge_transform_and_lower` and ship a `.pte`",
         "Finds `_save_for_lite_interpreter`, `_save_to_buffer_for_lite_interpreter` and "
         "`_load_for_lite_interpreter`.",
         "PyTorch Mobile (lite interpreter) is replaced by ExecuTorch (rows 1-2 of the table).",
         "scripted._save_for_lite_interpreter('model.ptl')",
         "edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])\n"
         "open('model.pte', 'wb').write(edge.to_executorch().buffer)",
         ("https://pytorch.org/executorch/", _NOTE)),
    Rule("IC108", "optimize-for-mobile",
         "`optimize_for_mobile` belongs to PyTorch Mobile: deploy to devices with ExecuTorch "
         "(XNNPACK, Core ML, Vulkan... partitioners) instead",
         "Finds `torch.utils.mobile_optimizer.optimize_for_mobile`.",
         "PyTorch Mobile is superseded by ExecuTorch (rows 1-2).",
         "optimized = optimize_for_mobile(scripted)",
         "edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])",
         ("https://pytorch.org/executorch/", _NOTE)),
    Rule("IC109", "onnx-legacy-export",
         "`torch.onnx.export(..., dynamo=False)` uses the legacy TorchScript exporter: pass "
         "`dynamo=True` (the torch.export-based exporter)",
         "Finds `torch.onnx.export` calls with `dynamo=False`.",
         "The TorchScript-based ONNX exporter is deprecated in favour of the torch.export one.",
         "torch.onnx.export(model, (x,), 'm.onnx', dynamo=False)",
         "torch.onnx.export(model, (x,), 'm.onnx', dynamo=True)",
         (f"{PYTORCH_DOCS}/onnx.html",)),
    Rule("IC110", "onnx-dynamo-export",
         "`torch.onnx.dynamo_export` was removed: use `torch.onnx.export(..., dynamo=True)`",
         "Finds `torch.onnx.dynamo_export`.", "The function no longer exists in current torch.",
         "torch.onnx.dynamo_export(model, x)",
         "torch.onnx.export(model, (x,), dynamo=True)", (f"{PYTORCH_DOCS}/onnx.html",)),
    Rule("IC201", "server-api-in-device-path",
         "this path deploys to {target} (rows 1-2: ExecuTorch): `{api}` is a server technology; "
         "export and lower with ExecuTorch instead",
         "Finds torch.compile and AOTInductor in code that config maps to a mobile or edge target.",
         "torch.compile and AOTInductor need a Python or libtorch runtime that phones and "
         "embedded devices do not ship.", "compiled = torch.compile(model)",
         "edge = to_edge_transform_and_lower(torch.export.export(model, (x,)), partitioner=[...])",
         ("https://pytorch.org/executorch/", _NOTE)),
    Rule("IC202", "torch-compile-in-cpp-path",
         "this path deploys to {target} (row 6: AOTInductor C++): `{api}` needs a Python "
         "process; AOT-compile a .pt2 with `aoti_compile_and_package` instead",
         "Finds torch.compile in code mapped to a server target without Python.",
         "torch.compile is JIT compilation inside Python; a C++ service cannot use it.",
         "model = torch.compile(model)",
         "pkg = torch._inductor.aoti_compile_and_package(torch.export.export(model, (x,)))",
         (f"{PYTORCH_DOCS}/torch.compiler_aot_inductor.html", _NOTE)),
    Rule("IC203", "executorch-in-server-path",
         "this path deploys to {target} (rows 3-7): `{api}` targets devices; use AOTInductor "
         "or torch.compile on servers",
         "Finds ExecuTorch imports and calls in code mapped to a server target.",
         "ExecuTorch's runtime and kernels are built for phones and edge chips, not servers.",
         "from executorch.exir import to_edge_transform_and_lower",
         "pkg = torch._inductor.aoti_compile_and_package(torch.export.export(model, (x,)))",
         (f"{PYTORCH_DOCS}/torch.compiler_aot_inductor.html", _NOTE)),
    Rule("IC204", "compile-on-mac-path",
         "this path runs on {target} (row 8: eager): `{api}` is not the recommendation for "
         "local Mac work; run the model in eager mode",
         "Finds torch.compile, torch.export and AOTInductor in code mapped to the mac target.",
         "The table recommends eager on Apple silicon for local development and inference.",
         "model = torch.compile(model)", "output = model(x)  # eager", (_NOTE,)),
    Rule("IC301", "print-in-forward",
         "`{api}` in forward breaks the graph under torch.compile/export: remove it or guard "
         "it with `if not torch.compiler.is_compiling():`",
         "Finds print and logging calls in forward (and the methods it calls on self).",
         "Dynamo cannot trace I/O; each call splits the graph (a graph break).",
         "def forward(self, x):\n    print(x.shape)\n    return self.lin(x)",
         "def forward(self, x):\n    return self.lin(x)",
         (f"{PYTORCH_DOCS}/torch.compiler_troubleshooting.html",)),
    Rule("IC302", "item-in-forward",
         "`.item()` in forward turns a tensor into a Python number and breaks the graph: keep "
         "it a tensor", "Finds `.item()` calls in forward.",
         "A data-dependent Python scalar forces a graph break (or specialization).",
         "scale = x.max().item()", "scale = x.max()",
         (f"{PYTORCH_DOCS}/torch.compiler_troubleshooting.html",)),
    Rule("IC303", "tolist-in-forward",
         "`.tolist()` in forward leaves the graph: keep the data as a tensor",
         "Finds `.tolist()` calls in forward.", "Converting to Python lists is a graph break.",
         "ids = x.tolist()", "ids = x",
         (f"{PYTORCH_DOCS}/torch.compiler_troubleshooting.html",)),
    Rule("IC304", "numpy-conversion-in-forward",
         "`.numpy()` in forward leaves the graph: use torch operations",
         "Finds `.numpy()` calls in forward.", "Tensors converted to numpy cannot be traced.",
         "arr = x.cpu().numpy()", "arr = x", (f"{PYTORCH_DOCS}/torch.compiler_troubleshooting.html",)),
    Rule("IC305", "numpy-call-in-forward",
         "`{api}` in forward is a numpy call: use the torch equivalent so the graph stays whole",
         "Finds calls into numpy in forward.",
         "numpy calls on tensors break the graph or trace as constants.",
         "y = np.exp(x)", "y = torch.exp(x)",
         (f"{PYTORCH_DOCS}/torch.compiler_troubleshooting.html",), default=False),
    Rule("IC306", "branch-on-tensor-value",
         "Python `{api}` on a tensor value in forward is a data-dependent branch (a graph break): "
         "use `torch.where`/`torch.cond`, or branch on shapes or config",
         "Finds if/while/conditional expressions whose test reduces a tensor "
         "(`.sum()`, `.any()`, `.item()`, `torch.all(...)`, ...).",
         "Dynamo cannot trace control flow that depends on tensor values.",
         "if x.sum() > 0:\n    x = x * 2", "x = torch.where(x.sum() > 0, x * 2, x)",
         (f"{PYTORCH_DOCS}/cond.html",)),
)

BY_CODE = {r.code: r for r in RULES}
