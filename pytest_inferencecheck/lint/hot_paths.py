"""What runs inside `forward`: which classes are modules, and which functions their `forward`
reaches (methods called on `self`, and this file's module-level helpers, transitively)."""

from __future__ import annotations

import ast

from .scope import Scopes, function_bindings, statements

Function = ast.FunctionDef | ast.AsyncFunctionDef

# Bases that make a class a plain one (a config, a record, an enum), never an nn.Module.
PLAIN_BASES = {"object", "ABC", "Protocol", "Generic", "NamedTuple", "TypedDict", "Enum",
               "IntEnum", "StrEnum", "Flag", "IntFlag", "Exception", "dict", "list", "tuple",
               "str", "int", "float", "set"}
PLAIN_MODULES = ("abc.", "typing.", "typing_extensions.", "enum.", "dataclasses.",
                 "collections.", "builtins.")


class HotPaths:
    """The functions a module's `forward` reaches, found once per file."""

    def __init__(self, tree: ast.Module, scopes: Scopes) -> None:
        self.scopes = scopes
        self.classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        self._module_memo: dict[str, bool] = {}
        self.hot: set[int] = set()  # ids of the function nodes that run in forward
        for node in statements(tree.body, into_defs=True):
            if isinstance(node, ast.ClassDef) and self.is_module(node):
                self._reach(node)

    def is_module(self, cls: ast.ClassDef) -> bool:
        """Could this class be an nn.Module? Not when its bases are all plain (none, object,
        ABC, Protocol, NamedTuple, Enum, ...) or plain classes of this file."""
        if cls.name in self._module_memo:
            return self._module_memo[cls.name]
        self._module_memo[cls.name] = False  # a cycle of bases is not a module
        verdict = any(self._module_base(b) for b in cls.bases)
        self._module_memo[cls.name] = verdict
        return verdict

    def _module_base(self, base: ast.AST) -> bool:
        if isinstance(base, ast.Subscript):  # Generic[T], Protocol[T]
            base = base.value
        qual = self.scopes.qualname(base)
        name = qual or (base.id if isinstance(base, ast.Name) else
                        base.attr if isinstance(base, ast.Attribute) else "")
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
            local = None
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                        f.value.id == "self" and f.attr in methods:
                    todo.append(methods[f.attr])
                elif isinstance(f, ast.Name) and isinstance(self.scopes.defined.get(f.id),
                                                           (ast.FunctionDef,
                                                            ast.AsyncFunctionDef)):
                    local = function_bindings(fn) if local is None else local
                    if f.id not in local and f.id not in self.scopes.module:
                        todo.append(self.scopes.defined[f.id])  # a helper of this module

    def __contains__(self, fn: ast.AST) -> bool:
        return id(fn) in self.hot
