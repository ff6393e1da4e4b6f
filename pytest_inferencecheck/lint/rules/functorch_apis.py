"""IC117, IC118: functorch-era spellings of what torch now has (`torch.cond`, `torch.compile`)."""

from __future__ import annotations

import ast

from pytest_inferencecheck.lint.fixes import SAFE, Fix
from pytest_inferencecheck.lint.rules.base import (
    NOTE,
    PYTORCH_DOCS,
    Rule,
    torch_bound,
)

FUNCTORCH_COND = {"functorch.experimental.control_flow.cond", "functorch.experimental.cond"}

FUNCTORCH_COMPILERS = {f"functorch.compile.{n}" for n in (
    "aot_function", "aot_module", "aot_module_simplified", "memory_efficient_fusion",
    "compiled_function", "compiled_module", "ts_compile", "nnc_jit", "draw_graph_compile",
    "debug_compile")}


def _fix_functorch_cond(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """`functorch.experimental.control_flow.cond(...)` -> `torch.cond(...)` (the same
    function), where `torch` is bound here."""
    if isinstance(node, ast.Call) and qual in FUNCTORCH_COND and torch_bound(ctx):
        return Fix(SAFE, "Call `torch.cond`", (ctx.source.replace(node.func, "torch.cond"),))
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        code="IC117",
        name="functorch-control-flow",
        message="`{api}` is the old spelling of `torch.cond`: call `torch.cond`",
        what=("Finds `functorch.experimental.control_flow.cond` (and "
              "`functorch.experimental.cond`)."),
        why=("functorch was merged into torch; `torch.cond` is the documented, exportable "
             "control-flow operator and the same function."),
        example=("from functorch.experimental.control_flow import cond\n"
                 "y = cond(pred, true_fn, false_fn, (x,))"),
        instead="y = torch.cond(pred, true_fn, false_fn, (x,))",
        references=(f"{PYTORCH_DOCS}/cond.html",),
        apis=frozenset(FUNCTORCH_COND),
        fixer=_fix_functorch_cond,
        fixable=SAFE,
        fix_note=("`torch.cond` is the same function object. Offered only where `torch` is "
                  "imported as itself (no import is added)."),
    ),
    Rule(
        code="IC118",
        name="functorch-compiler",
        message=("`{api}` is a functorch compiler entry point: use `torch.compile` (Python) or "
                 "`torch.export.export` with AOTInductor (deployment)"),
        what=("Finds `functorch.compile.aot_function`, `aot_module`, `memory_efficient_fusion`, "
              "`ts_compile` and the other functorch-era compilers."),
        why=("They predate torch.compile (AOTAutograd is now inside it); `ts_compile` and "
             "`memory_efficient_fusion` compile through TorchScript or NVFuser, both retired."),
        example="fast = memory_efficient_fusion(model)",
        instead="fast = torch.compile(model)",
        references=(f"{PYTORCH_DOCS}/torch.compiler.html", NOTE),
        apis=frozenset(FUNCTORCH_COMPILERS),
    ),
)
