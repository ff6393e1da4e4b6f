"""IC109, IC110: the legacy and removed ONNX exporters; `torch.onnx.export(..., dynamo=True)` is the current one."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pytest_inferencecheck.lint.fixes import UNSAFE, Fix
from pytest_inferencecheck.lint.rules.base import (
    PYTORCH_DOCS,
    Fields,
    Rule,
    display,
    rename_attribute,
)

_ONNX_DOCS = f"{PYTORCH_DOCS}/onnx.html"


def _onnx_legacy(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    """`torch.onnx.export(..., dynamo=<anything but True>)`; a missing `dynamo` is True (the
    default since torch 2.9)."""
    if not isinstance(node, ast.Call) or qual != "torch.onnx.export":
        return
    for k in node.keywords:
        if k.arg == "dynamo" and not (isinstance(k.value, ast.Constant) and
                                      k.value.value is True):
            yield {"api": f"torch.onnx.export(..., dynamo={display(k.value)})"}


def _fix_dynamo_export(node: ast.AST, qual: str | None, ctx) -> Fix | None:
    """`dynamo_export(m, x, y, k=v)` -> `export(m, (x, y), kwargs={"k": v}, dynamo=True)`."""
    if not isinstance(node, ast.Call) or qual != "torch.onnx.dynamo_export" or not node.args or \
            any(isinstance(a, ast.Starred) for a in node.args) or \
            any(k.arg == "export_options" for k in node.keywords):
        return None
    rename = rename_attribute(node, "export", ctx)
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


RULES: tuple[Rule, ...] = (
    Rule(
        code="IC109",
        name="onnx-legacy-export",
        message=("`{api}` may use the legacy TorchScript exporter: call `torch.onnx.export(..., "
                 "dynamo=True)` (the torch.export-based exporter)"),
        what=("Finds `torch.onnx.utils.export`, and `torch.onnx.export` calls whose `dynamo=` "
              "is not the constant `True` (`False`, or a variable that may be false)."),
        why=("The TorchScript-based ONNX exporter is deprecated in favour of the torch.export "
             "one; a `dynamo=` flag computed at run time hides which of the two a deployment "
             "uses."),
        example="torch.onnx.export(model, (x,), 'm.onnx', dynamo=use_dynamo)",
        instead="torch.onnx.export(model, (x,), 'm.onnx', dynamo=True)",
        references=(_ONNX_DOCS,),
        apis=frozenset({"torch.onnx.utils.export"}),
        match=_onnx_legacy,
        triggers=frozenset({"torch.onnx.export"}),
        fixer=_fix_onnx_dynamo_false,
        fixable=UNSAFE,
        fix_note=("`dynamo=False` becomes `dynamo=True`: the other exporter may produce a "
                  "different graph or fail where the old one did not. `torch.onnx.utils.export` "
                  "and a computed `dynamo=` value are left for you."),
    ),
    Rule(
        code="IC110",
        name="onnx-dynamo-export",
        message=("`{api}` no longer exists (the dynamo_export exporter was removed from torch): "
                 "use `torch.onnx.export(..., dynamo=True)`"),
        what=("Finds `torch.onnx.dynamo_export` and its companions `torch.onnx.ExportOptions` "
              "and `torch.onnx.enable_fake_mode`."),
        why="They no longer exist in current torch (removed in 2.9): the call fails.",
        example="torch.onnx.dynamo_export(model, x)",
        instead="torch.onnx.export(model, (x,), dynamo=True)",
        references=(_ONNX_DOCS,),
        apis=frozenset({"torch.onnx.dynamo_export", "torch.onnx.ExportOptions",
                        "torch.onnx.enable_fake_mode"}),
        fixer=_fix_dynamo_export,
        fixable=UNSAFE,
        fix_note=("`dynamo_export(m, *args, **kwargs)` becomes `export(m, args, kwargs=kwargs, "
                  "dynamo=True)`; `export` takes other options and saves differently. A call "
                  "with `export_options=`, starred arguments or a bare imported name is left "
                  "for you."),
    ),
)
