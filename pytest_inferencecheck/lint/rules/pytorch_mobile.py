"""IC107, IC108, IC115: PyTorch Mobile (the lite interpreter and its helpers), superseded by ExecuTorch."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pytest_inferencecheck.lint.rules.base import (
    NOTE,
    Fields,
    Rule,
)

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


def _lite_methods(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    """Methods that exist only on TorchScript modules: matched by name on any receiver."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in LITE_METHODS and qual is None:
        yield {"api": f".{node.func.attr}()"}


RULES: tuple[Rule, ...] = (
    Rule(
        code="IC107",
        name="lite-interpreter",
        message=("`{api}`: the TorchScript lite interpreter is superseded by ExecuTorch: lower "
                 "with `executorch.exir.to_edge_transform_and_lower` and ship a `.pte`"),
        what=("Finds `_save_for_lite_interpreter`, `_save_to_buffer_for_lite_interpreter` and "
              "`_load_for_lite_interpreter`."),
        why="PyTorch Mobile (lite interpreter) is replaced by ExecuTorch (rows 1-2 of the table).",
        example="scripted._save_for_lite_interpreter('model.ptl')",
        instead=("edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])\n"
                 "open('model.pte', 'wb').write(edge.to_executorch().buffer)"),
        references=("https://pytorch.org/executorch/", NOTE),
        apis=frozenset({"torch.jit._load_for_lite_interpreter",
                        "torch.jit.mobile._load_for_lite_interpreter"}),
        match=_lite_methods,
        triggers=frozenset(f".{m}" for m in LITE_METHODS),
    ),
    Rule(
        code="IC108",
        name="optimize-for-mobile",
        message=("`optimize_for_mobile` belongs to PyTorch Mobile: deploy to devices with "
                 "ExecuTorch (XNNPACK, Core ML, Vulkan... partitioners) instead"),
        what="Finds `torch.utils.mobile_optimizer.optimize_for_mobile`.",
        why="PyTorch Mobile is superseded by ExecuTorch (rows 1-2).",
        example="optimized = optimize_for_mobile(scripted)",
        instead="edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])",
        references=("https://pytorch.org/executorch/", NOTE),
        apis=frozenset({"torch.utils.mobile_optimizer.optimize_for_mobile"}),
    ),
    Rule(
        code="IC115",
        name="pytorch-mobile-helper",
        message=("`{api}` belongs to PyTorch Mobile (TorchScript on devices): lower with "
                 "`executorch.exir.to_edge_transform_and_lower` and a partitioner (XNNPACK, "
                 "Core ML, Vulkan, QNN...) instead"),
        what=("Finds NNAPI conversion (`torch.backends._nnapi`), bundled inputs "
              "(`torch.utils.bundled_inputs`), mobile module lints, TorchScript's `to_backend` "
              "and operator-list export."),
        why=("These helpers prepare TorchScript modules for the lite interpreter, which "
             "ExecuTorch replaces; NNAPI is deprecated by Android itself."),
        example="nnapi_model = convert_model_to_nnapi(torch.jit.trace(model, x), x)",
        instead=("edge = to_edge_transform_and_lower(torch.export.export(model, (x,)),\n"
                 "                                   partitioner=[XnnpackPartitioner()])"),
        references=("https://pytorch.org/executorch/", NOTE),
        apis=frozenset(MOBILE_HELPERS),
    ),
)
