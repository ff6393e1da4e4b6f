"""IC101-IC104, IC113, IC114: TorchScript (script, trace, its serialization and optimizations, its torch.compile backends), superseded by torch.export."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pytest_inferencecheck.lint.fixes import UNSAFE, Fix
from pytest_inferencecheck.lint.rules.base import (
    AOTI_DOCS,
    AOTI_EXAMPLE,
    EXPORT_DOCS,
    EXPORT_EXAMPLE,
    NOTE,
    PYTORCH_DOCS,
    TORCHSCRIPT_SUPERSEDED,
    Fields,
    Rule,
    compile_api,
)

TORCHSCRIPT_BACKENDS = {"ts", "aot_ts"}


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


RULES: tuple[Rule, ...] = (
    Rule(
        code="IC101",
        name="torch-jit-script",
        message=("`torch.jit.script` is superseded: export with `torch.export.export` and "
                 "deploy with AOTInductor or ExecuTorch (or use `torch.compile` in Python)"),
        what="Finds `torch.jit.script` calls and `@torch.jit.script` decorators.",
        why=TORCHSCRIPT_SUPERSEDED,
        example="scripted = torch.jit.script(model)",
        instead=f"ep = {EXPORT_EXAMPLE}\npkg = torch._inductor.aoti_compile_and_package(ep)",
        references=(EXPORT_DOCS, NOTE),
        on=("call", "decorator"),
        apis=frozenset({"torch.jit.script"}),
    ),
    Rule(
        code="IC102",
        name="torch-jit-trace",
        message="`{api}` is superseded: capture the graph with `torch.export.export`",
        what="Finds `torch.jit.trace` and `torch.jit.trace_module`.",
        why=TORCHSCRIPT_SUPERSEDED + " Tracing silently bakes in control flow; export reports it.",
        example="traced = torch.jit.trace(model, (x,))",
        instead=f"ep = {EXPORT_EXAMPLE}",
        references=(EXPORT_DOCS, NOTE),
        apis=frozenset({"torch.jit.trace", "torch.jit.trace_module"}),
    ),
    Rule(
        code="IC103",
        name="torch-jit-script-method",
        message=("`torch.jit.script_method` is superseded: drop it and export the module with "
                 "`torch.export.export`"),
        what="Finds `@torch.jit.script_method` and calls to it.",
        why=TORCHSCRIPT_SUPERSEDED,
        example="@torch.jit.script_method\ndef forward(self, x): ...",
        instead="def forward(self, x): ...\n# then: torch.export.export(module, (x,))",
        references=(EXPORT_DOCS, NOTE),
        on=("call", "decorator"),
        apis=frozenset({"torch.jit.script_method"}),
    ),
    Rule(
        code="IC104",
        name="torch-jit-save-load",
        message=("`{api}` serializes TorchScript: save an exported program "
                 "(`torch.export.save`) or an AOTI package (`aoti_compile_and_package`) instead"),
        what="Finds `torch.jit.save` and `torch.jit.load`.",
        why=TORCHSCRIPT_SUPERSEDED,
        example="torch.jit.save(scripted, 'model.pt')",
        instead=("torch.export.save(ep, 'model.pt2')  # or aoti_compile_and_package(ep, "
                 "package_path=...)"),
        references=(f"{EXPORT_DOCS}#serialization", NOTE),
        apis=frozenset({"torch.jit.save", "torch.jit.load"}),
    ),
    Rule(
        code="IC113",
        name="torchscript-optimization",
        message=("`{api}` optimizes a TorchScript module: deploy the exported program with "
                 "AOTInductor (its freezing is on by default for inference) or use "
                 "`torch.compile`"),
        what="Finds `torch.jit.freeze` and `torch.jit.optimize_for_inference`.",
        why=TORCHSCRIPT_SUPERSEDED,
        example="frozen = torch.jit.freeze(torch.jit.script(model.eval()))",
        instead=AOTI_EXAMPLE,
        references=(AOTI_DOCS, NOTE),
        apis=frozenset({"torch.jit.freeze",
               "torch.jit.optimize_for_inference"}),
    ),
    Rule(
        code="IC114",
        name="torchscript-compile-backend",
        message=("`{api}` compiles through TorchScript: use the default inductor backend "
                 "(`torch.compile(model)`)"),
        what=("Finds `torch.compile(..., backend=\"ts\")` and `\"aot_ts\"`, on `torch.compile`, "
              "`module.compile()` and `torch._dynamo.optimize`."),
        why=("The TorchScript backends of torch.compile are kept for debugging only; inductor "
             "is the backend the table's torch.compile rows are measured with."),
        example="model = torch.compile(model, backend=\"ts\")",
        instead="model = torch.compile(model)",
        references=(f"{PYTORCH_DOCS}/torch.compiler.html", NOTE),
        match=_torchscript_backend,
        triggers=frozenset({"torch.compile", "torch._dynamo.optimize", ".compile"}),
        fixer=_fix_torchscript_backend,
        fixable=UNSAFE,
        fix_note=("The `backend=` argument is dropped (inductor is the default): a different "
                  "compiler, whose numerics and supported operators differ."),
    ),
)
