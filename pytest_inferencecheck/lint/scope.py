"""Names resolved with their scope: what `jit.script` means in this function of this file.

Python decides statically which names a function binds (any assignment makes a name local for
the whole function), so the resolution here is exact for the cases it covers: module-level
imports, function-level imports (visible only in their function), and local variables or
parameters that shadow an imported name. Relative imports name the project's own modules and are
not resolved."""

from __future__ import annotations

import ast
from collections.abc import Iterator

_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def statements(roots: list[ast.AST], *, into_defs: bool = False) -> Iterator[ast.AST]:
    """Every statement under `roots` (and their except handlers and match cases), depth first;
    the bodies of nested functions and classes only with `into_defs`. Statements only, never
    expressions: a fraction of a file's nodes."""
    todo = list(reversed(roots))
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, _DEFS) and not into_defs:
            continue
        for field in _BODIES:
            children = getattr(node, field, None)
            if isinstance(children, list):
                todo.extend(reversed(children))
Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def tail_name(node: ast.AST) -> str | None:
    """The last name of `a.b.c` (`c`), or of a plain name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _bind_import(node: ast.Import | ast.ImportFrom, into: dict[str, str | None]) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                into[alias.asname] = alias.name
            else:  # `import torch.jit` binds `torch`
                top = alias.name.split(".")[0]
                into[top] = top
    elif node.module and not node.level:
        for alias in node.names:
            if alias.name != "*":
                into[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    else:  # a relative import binds a project name: it shadows whatever else had that name
        for alias in node.names:
            into[alias.asname or alias.name] = None


def module_names(tree: ast.Module) -> tuple[dict[str, str | None], dict[str, ast.AST]]:
    """The names module-level imports bind (inside `if`/`try` too, never inside a def or
    class), and the functions, classes and variables the module defines. Statement bodies
    only, never expressions: a fraction of the nodes."""
    names: dict[str, str | None] = {}
    defined: dict[str, ast.AST] = {}
    rebound: dict[str, str | None] = {}
    for node in statements(tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _bind_import(node, names)
        elif isinstance(node, _DEFS):
            defined.setdefault(node.name, node)
            rebound[node.name] = None
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    defined.setdefault(target.id, node)
                _target_names(target, rebound)
        elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
            _target_names(node.target, rebound)
    # A name the module also binds otherwise (`script = make_wrapper()` beside
    # `from torch.jit import script`) is not known to be the import where it is used.
    for name in rebound.keys() & names.keys():
        names[name] = None
    return names, defined


def _target_names(target: ast.AST, into: dict[str, str | None]) -> None:
    if isinstance(target, ast.Name):
        into.setdefault(target.id, None)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            _target_names(elt, into)
    elif isinstance(target, ast.Starred):
        _target_names(target.value, into)


def function_bindings(fn: Function) -> dict[str, str | None]:
    """The names a function binds: its imports (to their qualified names) and its parameters
    and other local variables (to None: they shadow any import of the same name). Statements
    only, never expressions (a walrus binding is missed; it is rare), for speed."""
    names: dict[str, str | None] = {}
    args = fn.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None:
            names[a.arg] = None
    if isinstance(fn, ast.Lambda):
        return names
    declared: set[str] = set()
    local: dict[str, str | None] = {}
    for node in statements(fn.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _bind_import(node, names)
        elif isinstance(node, _DEFS):
            names[node.name] = None  # its body is another scope
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, (ast.Assign, ast.Delete)):
            for target in node.targets:
                _target_names(target, names)
                _target_names(target, local)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
            _target_names(node.target, names)
            _target_names(node.target, local)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    _target_names(item.optional_vars, names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.setdefault(node.name, None)
        elif isinstance(node, ast.match_case):
            for sub in ast.walk(node.pattern):
                if isinstance(sub, (ast.MatchAs, ast.MatchStar)) and sub.name:
                    names.setdefault(sub.name, None)
    for name in declared:
        names.pop(name, None)
    # A name the function both imports and assigns holds either, depending on the path taken:
    # not known to be the import (precision first).
    for name in local.keys() & names.keys():
        names[name] = None
    return names


def _imports_and_classes(tree: ast.Module) -> tuple[list[tuple[str, str | None]],
                                                    list[ast.ClassDef]]:
    """Every (name, qualified name) any import in the file binds, at any depth (what a name
    must be among to resolve at all: a quick test before a scope lookup), and every class,
    at any depth."""
    bound: list[tuple[str, str | None]] = []
    classes: list[ast.ClassDef] = []
    for node in statements(tree.body, into_defs=True):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names: dict[str, str | None] = {}
            _bind_import(node, names)
            bound += names.items()
        elif isinstance(node, ast.ClassDef):
            classes.append(node)
    return bound, classes


class Scopes:
    """The module's imports and a stack of the function scopes the walker is inside."""

    def __init__(self, tree: ast.Module) -> None:
        self.module, self.defined = module_names(tree)
        self._bound, self.classes = _imports_and_classes(tree)
        self.imported = {name for name, _ in self._bound}
        self._functions: list[Function] = []
        self._bindings: dict[int, dict[str, str | None]] = {}

    def bindings(self) -> list[tuple[str, str | None]]:
        """Every (name, qualified name) an import anywhere in the file binds."""
        return self._bound

    def enter(self, fn: Function) -> None:
        """The walker entered a function body."""
        self._functions.append(fn)

    def leave(self) -> None:
        """The walker left the innermost function body."""
        self._functions.pop()

    def lookup(self, name: str) -> tuple[bool, str | None]:
        """(found, qualified name): the innermost binding of `name`; (False, None) if unbound
        here (a builtin, or a global this file defines without importing)."""
        for fn in reversed(self._functions):
            bindings = self._bindings.get(id(fn))
            if bindings is None:  # computed on the first lookup in that function
                bindings = self._bindings[id(fn)] = function_bindings(fn)
            if name in bindings:
                return True, bindings[name]
        if name in self.module:
            return True, self.module[name]
        return False, None

    def qualname(self, node: ast.AST) -> str | None:
        """`jit.script` -> `torch.jit.script` where `jit` is `torch.jit` in this scope; None
        for what imports do not explain."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        if node.id not in self.imported:
            return None  # no import anywhere binds it: skip the scope lookup
        qual = self.lookup(node.id)[1]
        if qual is None:
            return None
        return ".".join([qual, *reversed(parts)])

    def is_builtin(self, name: str) -> bool:
        """`print` is the builtin unless this scope or the module binds the name."""
        return not self.lookup(name)[0] and name not in self.defined
