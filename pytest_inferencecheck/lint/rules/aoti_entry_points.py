"""IC105, IC106: the first AOTInductor entry points, replaced by the .pt2 package API."""

from __future__ import annotations

from pytest_inferencecheck.lint.rules.base import (
    AOTI_DOCS,
    AOTI_EXAMPLE,
    NOTE,
    Rule,
)

RULES: tuple[Rule, ...] = (
    Rule(
        code="IC105",
        name="aot-compile",
        message=("`{api}` is deprecated: use "
                 "`torch._inductor.aoti_compile_and_package(torch.export.export(...))`"),
        what="Finds `torch._export.aot_compile` and `torch._inductor.aot_compile`.",
        why=("The original AOTInductor entry points produce a bare shared library; they were "
             "replaced by the .pt2 package API that AOTInductor's Python and C++ loaders read."),
        example="so_path = torch._export.aot_compile(model, (x,))",
        instead=AOTI_EXAMPLE,
        references=(AOTI_DOCS, NOTE),
        apis=frozenset({"torch._export.aot_compile", "torch._inductor.aot_compile"}),
    ),
    Rule(
        code="IC106",
        name="aot-load",
        message=("`torch._export.aot_load` is deprecated: load the package with "
                 "`torch._inductor.aoti_load_package`"),
        what="Finds `torch._export.aot_load`.",
        why="Replaced by the .pt2 package loader.",
        example="runner = torch._export.aot_load(so_path, 'cpu')",
        instead="runner = torch._inductor.aoti_load_package('model.pt2')",
        references=(AOTI_DOCS, NOTE),
        apis=frozenset({"torch._export.aot_load"}),
    ),
)
