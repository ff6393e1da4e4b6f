"""IC2xx: code that config maps to a deployment target using another row's technology."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pytest_inferencecheck.lint.rules.base import AOTI_DOCS, NOTE, Fields, Rule, compile_api

COMPILE = {"torch.compile"}
AOTI = {"torch._inductor.aoti_compile_and_package", "torch._inductor.aoti_load_package",
        "torch._inductor.aot_compile", "torch._export.aot_compile", "torch._export.aot_load"}
EXPORT = {"torch.export.export"}
TRIGGERS = frozenset(COMPILE | AOTI | EXPORT | {".compile"})


def _uses(apis: set[str], platforms: set[str] | None = None, runtime: str | None = None,
          compile_too: bool = True):
    def match(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
        t = ctx.target
        if (platforms and t.platform not in platforms) or (runtime and t.runtime != runtime):
            return
        api = (compile_api(node, qual) if compile_too else None) or \
            (qual if qual in apis else None)
        if api:
            yield {"target": t.id, "api": api}
    return match


def _executorch(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    if not ctx.target.server:
        return
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "executorch":
                yield {"target": ctx.target.id, "api": alias.name}
    elif isinstance(node, ast.ImportFrom):
        if node.module and node.module.split(".")[0] == "executorch" and not node.level:
            yield {"target": ctx.target.id, "api": node.module}
    elif qual is not None and (qual == "executorch" or qual.startswith("executorch.")):
        yield {"target": ctx.target.id, "api": qual}


RULES: tuple[Rule, ...] = (
    Rule(
        code="IC201",
        name="server-api-in-device-path",
        message=("this path deploys to {target} (rows 1-2: ExecuTorch): `{api}` is a server "
                 "technology; export and lower with ExecuTorch instead"),
        what=("Finds torch.compile (calls, decorators, `module.compile()`) and AOTInductor in "
              "code that config maps to a mobile or edge target."),
        why=("torch.compile and AOTInductor need a Python or libtorch runtime that phones and "
             "embedded devices do not ship."),
        example="compiled = torch.compile(model)",
        instead=("edge = to_edge_transform_and_lower(torch.export.export(model, (x,)), "
                 "partitioner=[...])"),
        references=("https://pytorch.org/executorch/", NOTE),
        on=("call", "decorator"),
        needs_target=True,
        match=_uses(AOTI, platforms={"phone", "edge"}),
        triggers=TRIGGERS,
    ),
    Rule(
        code="IC202",
        name="torch-compile-in-cpp-path",
        message=("this path deploys to {target} (row 6: AOTInductor C++): `{api}` needs a "
                 "Python process; AOT-compile a .pt2 with `aoti_compile_and_package` instead"),
        what=("Finds torch.compile (calls, decorators, `module.compile()`) in code mapped to a "
              "server target without Python."),
        why="torch.compile is JIT compilation inside Python; a C++ service cannot use it.",
        example="model = torch.compile(model)",
        instead="pkg = torch._inductor.aoti_compile_and_package(torch.export.export(model, (x,)))",
        references=(AOTI_DOCS, NOTE),
        on=("call", "decorator"),
        needs_target=True,
        match=_uses(set(), runtime="no-python"),
        triggers=TRIGGERS,
    ),
    Rule(
        code="IC203",
        name="executorch-in-server-path",
        message=("this path deploys to {target} (rows 3-7): `{api}` targets devices; use "
                 "AOTInductor or torch.compile on servers"),
        what="Finds ExecuTorch imports and calls in code mapped to a server target.",
        why="ExecuTorch's runtime and kernels are built for phones and edge chips, not servers.",
        example="from executorch.exir import to_edge_transform_and_lower",
        instead="pkg = torch._inductor.aoti_compile_and_package(torch.export.export(model, (x,)))",
        references=(AOTI_DOCS, NOTE),
        on=("call", "import"),
        needs_target=True,
        match=_executorch,
    ),
    Rule(
        code="IC204",
        name="compile-on-mac-path",
        message=("this path runs on {target} (row 8: eager): `{api}` is not the recommendation "
                 "for local Mac work; run the model in eager mode"),
        what="Finds torch.compile, torch.export and AOTInductor in code mapped to the mac target.",
        why="The table recommends eager on Apple silicon for local development and inference.",
        example="model = torch.compile(model)",
        instead="output = model(x)  # eager",
        references=(NOTE,),
        on=("call", "decorator"),
        needs_target=True,
        match=_uses(AOTI | EXPORT, platforms={"mac"}),
        triggers=TRIGGERS,
    ),
)
