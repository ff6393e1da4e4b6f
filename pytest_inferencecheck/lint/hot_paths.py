"""What runs inside `forward`: which classes are modules, and which functions their `forward`
reaches (methods called on `self`, and this file's module-level helpers, transitively)."""

from __future__ import annotations

import ast
import re

from pytest_inferencecheck.lint.scope import Scopes, function_bindings, tail_name

Function = ast.FunctionDef | ast.AsyncFunctionDef  # a Lambda has no methods to call

# Bases that make a class a plain one (a config, a record, an enum), never an nn.Module.
PLAIN_BASES = {"object", "ABC", "Protocol", "Generic", "NamedTuple", "TypedDict", "Enum",
               "IntEnum", "StrEnum", "Flag", "IntFlag", "Exception", "dict", "list", "tuple",
               "str", "int", "float", "set"}
PLAIN_MODULES = ("abc.", "typing.", "typing_extensions.", "enum.", "dataclasses.",
                 "collections.", "builtins.")
# Calls found in a function's text (a regular expression is ten times faster than a walk of
# its tree; a match inside a string or comment only adds a function to look at).
SELF_CALL = re.compile(r"\bself\s*\.\s*([A-Za-z_]\w*)\s*\(")
BARE_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")


class HotPaths:
    """The functions a module's `forward` reaches, found once per file."""

    def __init__(self, tree: ast.Module, scopes: Scopes, lines: list[str]) -> None:
        self.scopes, self.lines = scopes, lines
        self.classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        self._module_memo: dict[int, bool] = {}  # by class node: nested classes share names
        self.hot: set[int] = set()  # ids of the function nodes that run in forward
        for cls in scopes.classes:
            if self.is_module(cls):
                self._reach(cls)

    def is_module(self, cls: ast.ClassDef) -> bool:
        """Could this class be an nn.Module? Not when its bases are all plain (none, object,
        ABC, Protocol, NamedTuple, Enum, ...) or plain classes of this file."""
        if id(cls) not in self._module_memo:
            self._module_memo[id(cls)] = False  # a cycle of bases is not a module
            self._module_memo[id(cls)] = any(self._module_base(b) for b in cls.bases)
        return self._module_memo[id(cls)]

    def _module_base(self, base: ast.AST) -> bool:
        if isinstance(base, ast.Subscript):  # Generic[T], Protocol[T]
            base = base.value
        qual = self.scopes.qualname(base)
        name = qual or tail_name(base) or ""
        if name in PLAIN_BASES or name.startswith(PLAIN_MODULES) or \
                name.split(".")[-1] in PLAIN_BASES and qual is not None and \
                not qual.startswith("torch."):
            return False
        if qual is None and isinstance(base, ast.Name) and base.id in self.classes:
            return self.is_module(self.classes[base.id])
        return True  # torch.nn.Module, PreTrainedModel, a base imported from elsewhere

    def _reach(self, cls: ast.ClassDef) -> None:
        methods = {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef,
                                                                  ast.AsyncFunctionDef))}
        if "forward" not in methods:
            return
        todo: list[Function] = [methods["forward"]]
        while todo:
            fn = todo.pop()
            if id(fn) in self.hot:
                continue
            self.hot.add(id(fn))
            text = "\n".join(self.lines[fn.lineno - 1:fn.end_lineno])
            todo.extend(methods[m] for m in SELF_CALL.findall(text) if m in methods)
            local = None
            for name in set(BARE_CALL.findall(text)):
                helper = self.scopes.defined.get(name)
                if isinstance(helper, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        name not in self.scopes.module:
                    local = function_bindings(fn) if local is None else local
                    if name not in local:
                        todo.append(helper)  # a helper of this module

    def __contains__(self, fn: ast.AST) -> bool:
        return id(fn) in self.hot
