"""IC111, IC112, IC116: private, removed or deprecated capture APIs; `torch.export.export` is the one to call."""

from __future__ import annotations

import ast

from pytest_inferencecheck.lint.fixes import UNSAFE, Fix
from pytest_inferencecheck.lint.rules.base import (
    EXPORT_DOCS,
    EXPORT_EXAMPLE,
    NOTE,
    Rule,
    rename_attribute,
    torch_bound,
)


def _fix_private_export(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """`capture_pre_autograd_graph(m, args)` -> `torch.export.export(m, args).module()`;
    `torch.export.export_for_training(...)` -> `torch.export.export(...)`."""
    if not isinstance(node, ast.Call):
        return None
    src = ctx.source
    if qual == "torch.export.export_for_training":
        rename = rename_attribute(node, "export", ctx)
        return None if rename is None else Fix(UNSAFE, "Call `torch.export.export`", (rename,))
    if qual == "torch._export.capture_pre_autograd_graph" and torch_bound(ctx):
        return Fix(UNSAFE, "Call `torch.export.export(...).module()`",
                   (src.replace(node.func, "torch.export.export"),
                    src.insert(src.end(node), ".module()")))
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        code="IC111",
        name="dynamo-export",
        message=("`torch._dynamo.export` is the private predecessor of torch.export: call "
                 "`torch.export.export(model, args)` and deploy the ExportedProgram"),
        what="Finds `torch._dynamo.export`.",
        why=("It returns a bare GraphModule without the ExportedProgram's signature, guards or "
             "serialization; neither AOTInductor nor ExecuTorch accepts it."),
        example="gm, guards = torch._dynamo.export(model)(x)",
        instead=f"ep = {EXPORT_EXAMPLE}",
        references=(EXPORT_DOCS, NOTE),
        apis=frozenset({"torch._dynamo.export"}),
    ),
    Rule(
        code="IC112",
        name="private-export-entry-point",
        message=("`{api}` is a private or removed capture API: call `torch.export.export(model, "
                 "args)` (quantization takes its `.module()`)"),
        what=("Finds `torch._export.capture_pre_autograd_graph`, "
              "`torch.export.export_for_training`, `torch.export.export_for_inference` and "
              "`torch.export._trace._export`."),
        why=("`capture_pre_autograd_graph` was removed (PT2E quantization now starts from "
             "`torch.export.export(...).module()`), `export_for_training` and "
             "`export_for_inference` were deprecated into `torch.export.export` and removed, "
             "and `torch.export._trace._export` is internal and changes between releases."),
        example="gm = capture_pre_autograd_graph(model, (x,))",
        instead="gm = torch.export.export(model, (x,)).module()",
        references=(EXPORT_DOCS, NOTE),
        apis=frozenset({"torch._export.capture_pre_autograd_graph",
                        "torch.export.export_for_training", "torch.export.export_for_inference",
                        "torch.export._trace._export"}),
        fixer=_fix_private_export,
        fixable=UNSAFE,
        fix_note=("`export_for_training(...)` becomes `torch.export.export(...)` and "
                  "`capture_pre_autograd_graph(m, args)` becomes `torch.export.export(m, "
                  "args).module()`: the graph torch.export traces (its decompositions, "
                  "strictness) may differ from the old entry point's."),
    ),
    Rule(
        code="IC116",
        name="export-dynamic-dim",
        message=("`torch.export.dynamic_dim` was removed: declare dynamic sizes with "
                 "`torch.export.Dim` in `dynamic_shapes=`"),
        what="Finds `torch.export.dynamic_dim`.",
        why=("Constraints built with `dynamic_dim` were replaced by `Dim` objects passed as "
             "`dynamic_shapes`; the function no longer exists (the call fails)."),
        example="ep = torch.export.export(m, (x,), constraints=[dynamic_dim(x, 0)])",
        instead=("batch = torch.export.Dim(\"batch\")\n"
                 "ep = torch.export.export(m, (x,), dynamic_shapes={\"x\": {0: batch}})"),
        references=(f"{EXPORT_DOCS}#expressing-dynamism", NOTE),
        apis=frozenset({"torch.export.dynamic_dim", "torch._export.dynamic_dim"}),
    ),
)
