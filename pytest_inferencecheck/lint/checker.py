"""Walk one file's syntax tree and report findings. Pure: source text in, findings out."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..table import Target
from .names import Imports, collect_imports
from .rules import BY_CODE

# IC1xx: superseded APIs by qualified name.
SUPERSEDED: dict[str, str] = {
    "torch.jit.script": "IC101",
    "torch.jit.trace": "IC102", "torch.jit.trace_module": "IC102",
    "torch.jit.script_method": "IC103",
    "torch.jit.save": "IC104", "torch.jit.load": "IC104",
    "torch._export.aot_compile": "IC105",
    "torch._export.aot_load": "IC106",
    "torch.jit._load_for_lite_interpreter": "IC107",
    "torch.jit.mobile._load_for_lite_interpreter": "IC107",
    "torch.utils.mobile_optimizer.optimize_for_mobile": "IC108",
    "torch.onnx.dynamo_export": "IC110",
}
# Methods that exist only on TorchScript modules: matched by name on any receiver.
LITE_METHODS = {"_save_for_lite_interpreter", "_save_to_buffer_for_lite_interpreter"}

COMPILE = {"torch.compile"}
AOTI = {"torch._inductor.aoti_compile_and_package", "torch._inductor.aoti_load_package"}
EXPORT = {"torch.export.export"}

# The logging.Logger methods, and the *_once/advice ones that transformers adds to its loggers.
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log",
               "warning_once", "info_once", "warning_advice"}
LOGGER_NAMES = re.compile(r"^(log|logger|_logger|LOGGER|LOG)$")
TENSOR_REDUCTIONS = {"sum", "any", "all", "max", "min", "mean", "item", "norm", "prod",
                     "amax", "amin", "argmax", "argmin", "count_nonzero", "equal", "allclose",
                     "isnan", "isinf", "isfinite", "nonzero"}
TORCH_PREDICATES = {f"torch.{n}" for n in ("any", "all", "equal", "allclose", "isnan", "isinf",
                                           "isfinite", "count_nonzero", "sum", "max", "min")}


@dataclass(frozen=True)
class Finding:
    """One finding: where, which rule, and the message with its placeholders filled."""

    path: str
    line: int
    col: int
    code: str
    message: str
    end_line: int | None = None
    end_col: int | None = None


def _display(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - display only
        return "?"
    return text if len(text) <= 60 else text[:57] + "..."


class _FileChecker(ast.NodeVisitor):
    def __init__(self, path: str, imports: Imports, target: Target | None) -> None:
        self.path, self.imports, self.target = path, imports, target
        self.findings: list[Finding] = []
        self.in_forward = 0

    def report(self, node: ast.AST, code: str, **fields: str) -> None:
        rule = BY_CODE[code]
        self.findings.append(Finding(
            self.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, code,
            rule.message.format(**fields), getattr(node, "end_lineno", None),
            (getattr(node, "end_col_offset", None) or 0) + 1))

    # -- IC1xx and IC2xx: API usage anywhere ----------------------------------------------
    def _api(self, node: ast.AST, qual: str | None, fn: ast.AST) -> None:
        if qual in SUPERSEDED:
            self.report(node, SUPERSEDED[qual])
        if isinstance(fn, ast.Attribute) and fn.attr in LITE_METHODS:
            self.report(node, "IC107")
        if self.target is not None and qual is not None:
            self._deviation(node, qual)

    def _deviation(self, node: ast.AST, qual: str) -> None:
        t = self.target
        assert t is not None
        if t.platform in {"phone", "edge"} and qual in COMPILE | AOTI:
            self.report(node, "IC201", target=t.id, api=qual)
        elif t.runtime == "no-python" and qual in COMPILE:
            self.report(node, "IC202", target=t.id, api=qual)
        elif t.platform == "mac" and qual in COMPILE | AOTI | EXPORT:
            self.report(node, "IC204", target=t.id, api=qual)
        if t.platform == "server" and (qual == "executorch" or qual.startswith("executorch.")):
            self.report(node, "IC203", target=t.id, api=qual)

    def visit_Call(self, node: ast.Call) -> None:
        qual = self.imports.qualname(node.func)
        self._api(node, qual, node.func)
        if qual == "torch.onnx.export" and any(
                k.arg == "dynamo" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords):
            self.report(node, "IC109")
        if self.in_forward:
            self._forward_call(node, qual)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        if self.target is not None and self.target.platform == "server":
            for alias in node.names:
                if alias.name.split(".")[0] == "executorch":
                    self.report(node, "IC203", target=self.target.id, api=alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if self.target is not None and self.target.platform == "server" and node.module and \
                node.module.split(".")[0] == "executorch" and not node.level:
            self.report(node, "IC203", target=self.target.id, api=node.module)

    def _decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            if not isinstance(dec, ast.Call):  # a call is reported by visit_Call
                self._api(dec, self.imports.qualname(target), target)

    # -- IC3xx: inside forward and what it calls on self ----------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._decorators(node)
        methods = {n.name: n for n in node.body if isinstance(n, (ast.FunctionDef,
                                                                   ast.AsyncFunctionDef))}
        hot = _reachable_from_forward(methods)
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in hot:
                self.in_forward += 1
                self.visit(item)
                self.in_forward -= 1
            else:
                self.visit(item)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._decorators(node)
        for child in [*node.args.defaults, *node.args.kw_defaults, *node.body]:
            if child is not None:
                self.visit(child)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _forward_call(self, node: ast.Call, qual: str | None) -> None:
        fn = node.func
        if isinstance(fn, ast.Name) and fn.id == "print" and "print" not in self.imports.names:
            self.report(node, "IC301", api="print(...)")
        elif qual is not None and qual.startswith("logging."):
            self.report(node, "IC301", api=qual)
        elif isinstance(fn, ast.Attribute) and fn.attr in LOG_METHODS and \
                LOGGER_NAMES.match(_tail_name(fn.value) or ""):
            self.report(node, "IC301", api=_display(fn))
        if isinstance(fn, ast.Attribute) and not node.args and not node.keywords:
            code = {"item": "IC302", "tolist": "IC303", "numpy": "IC304"}.get(fn.attr)
            if code:
                self.report(node, code)
        if qual is not None and (qual == "numpy" or qual.startswith("numpy.")):
            self.report(node, "IC305", api=qual)

    def _branch(self, node: ast.If | ast.While | ast.IfExp, kind: str) -> None:
        if self.in_forward and _reads_tensor_value(node.test, self.imports):
            self.report(node, "IC306", api=kind)

    def visit_If(self, node: ast.If) -> None:
        self._branch(node, "if")
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._branch(node, "while")
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._branch(node, "... if ... else ...")
        self.generic_visit(node)


def _tail_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _reachable_from_forward(methods: dict[str, ast.AST]) -> set[str]:
    """forward and every method it calls on self, transitively, within the class."""
    if "forward" not in methods:
        return set()
    seen, todo = set(), ["forward"]
    while todo:
        name = todo.pop()
        if name in seen or name not in methods:
            continue
        seen.add(name)
        for node in ast.walk(methods[name]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
                todo.append(node.func.attr)
    return seen


def _reads_tensor_value(test: ast.AST, imports: Imports) -> bool:
    """Does a condition reduce a tensor to a value (`x.sum() > 0`, `torch.any(m)`, `t.item()`)?"""
    for node in ast.walk(test):
        if not isinstance(node, ast.Call):
            continue
        qual = imports.qualname(node.func)
        if qual in TORCH_PREDICATES:
            return True
        if isinstance(node.func, ast.Attribute) and node.func.attr in TENSOR_REDUCTIONS and \
                qual is None and not _is_builtin_receiver(node.func.value):
            return True
    return False


def _is_builtin_receiver(node: ast.AST) -> bool:
    """`max(...)`, `any(...)` are builtins, `np.max` is numpy; `x.max()` is a tensor method."""
    return isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set))


def check_source(source: str, path: str, target: Target | None = None) -> list[Finding]:
    """Every finding in one file's source (raises SyntaxError if it does not parse)."""
    tree = ast.parse(source, filename=path)
    checker = _FileChecker(path, collect_imports(tree), target)
    checker.visit(tree)
    return sorted(set(checker.findings), key=lambda f: (f.line, f.col, f.code))
