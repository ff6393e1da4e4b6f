"""Qualified names from syntax: follow imports and aliases (`import torch.jit as jit`, ...)."""

from __future__ import annotations

import ast


class Imports:
    """What each local name refers to, from the file's import statements."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def visit(self, node: ast.AST) -> None:
        """Record an Import or ImportFrom (relative imports name local modules: ignored)."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.names[alias.asname] = alias.name
                else:  # `import torch.jit` binds `torch`
                    top = alias.name.split(".")[0]
                    self.names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def qualname(self, node: ast.AST) -> str | None:
        """`jit.script` -> `torch.jit.script`; None for what imports do not explain."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.names:
            return None
        return ".".join([self.names[node.id], *reversed(parts)])


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def collect_imports(tree: ast.AST) -> Imports:
    """Every import in the file at any depth (function-level ones too). Imports are statements,
    so only statement bodies are walked, never expressions: a fraction of the nodes."""
    imports = Imports()
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.visit(node)
            continue
        for name in _BODIES:
            children = getattr(node, name, None)
            if isinstance(children, list):
                todo.extend(reversed(children))
    return imports
