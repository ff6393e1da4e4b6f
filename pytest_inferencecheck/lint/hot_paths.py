"""What runs inside `forward`: which classes are modules, and which functions their `forward`
reaches (methods called on `self`, and this file's module-level helpers, transitively)."""

from __future__ import annotations

import ast
import bisect
import re

from pytest_inferencecheck.lint.scope import Scopes, function_bindings, statements, tail_name

Function = ast.FunctionDef | ast.AsyncFunctionDef  # a Lambda has no methods to call

# `if not torch.compiler.is_compiling(): print(...)` is the fix IC301 recommends: under
# torch.compile and torch.export the guarded code never runs; nor does `if self.training:` in
# an eval-mode model. (torch.jit.is_scripting is False under Dynamo: it guards nothing here.)
COMPILE_GUARDS = {"is_compiling", "is_dynamo_compiling", "is_torchdynamo_compiling",
                  "is_exporting"}
# torch's checks take their message as a function, called only when the check fails
CHECKS = ("torch._check", "torch._assert")

# Bases that make a class a plain one (a config, a record, an enum), never an nn.Module.
PLAIN_BASES = {"object", "ABC", "Protocol", "Generic", "NamedTuple", "TypedDict", "Enum",
               "IntEnum", "StrEnum", "Flag", "IntFlag", "Exception", "dict", "list", "tuple",
               "str", "int", "float", "set"}
PLAIN_MODULES = ("abc.", "typing.", "typing_extensions.", "enum.", "dataclasses.",
                 "collections.", "builtins.")
# Calls found in a function's text (a regular expression is ten times faster than a walk of
# its tree). A match in the docstring (`>>> helper(x)`) or under a guard is dropped; one in
# another string or a comment only adds a function to look at.
SELF_CALL = re.compile(r"\bself\s*\.\s*([A-Za-z_]\w*)\s*\(")
BARE_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")


def guard_of(test: ast.AST) -> str | None:
    """Which branch of `if test:` never runs when a model is compiled or exported for
    inference: "body" for `if not torch.compiler.is_compiling():` and `if self.training:`,
    "orelse" for `if is_compiling():` and `if not self.training:`; None for other tests."""
    negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
    inner = test.operand if negated else test
    if isinstance(inner, ast.Call):
        if tail_name(inner.func) in COMPILE_GUARDS:  # true while compiling
            return "body" if negated else "orelse"
    if isinstance(inner, ast.Attribute) and inner.attr == "training" and \
            isinstance(inner.value, ast.Name) and inner.value.id == "self":  # false in eval()
        return "orelse" if negated else "body"
    if isinstance(test, ast.BoolOp):  # `if self.training and ...:` skips its body too
        inner_guards = [guard_of(v) for v in test.values]
        if isinstance(test.op, ast.And) and "body" in inner_guards:
            return "body"
        if isinstance(test.op, ast.Or) and "orelse" in inner_guards:
            return "orelse"
    return None


def short_circuits(test: ast.AST) -> bool:
    """Is the test decided by a guard before anything else in it is evaluated?"""
    first = test.values[0] if isinstance(test, ast.BoolOp) else test
    return guard_of(first) is not None


def guarded_tail(test: ast.AST) -> list[ast.AST]:
    """The operands of `test` after a guard that short-circuits them away in inference:
    `self.training and f(x)` and `not is_compiling() and f(x)` never evaluate `f(x)`."""
    if isinstance(test, ast.BoolOp) and len(test.values) > 1:
        guard = guard_of(test.values[0])
        if (guard == "body" and isinstance(test.op, ast.And)) or \
                (guard == "orelse" and isinstance(test.op, ast.Or)):
            return test.values[1:]
    return []


def stops_inference(stmt: ast.AST) -> bool:
    """`if not self.training: return x` (or `if is_compiling(): raise ...`): in inference the
    block ends here, and what follows it runs only in training or eager."""
    return isinstance(stmt, ast.If) and not stmt.orelse and guard_of(stmt.test) == "orelse" \
        and isinstance(stmt.body[-1], (ast.Return, ast.Raise))


def _after_stops(body: list[ast.stmt]) -> list[tuple[int, int, int, int]]:
    for i, stmt in enumerate(body[:-1]):
        if stops_inference(stmt):
            rest = body[i + 1:]
            return [(rest[0].lineno, rest[0].col_offset, rest[-1].end_lineno,
                     rest[-1].end_col_offset)]
    return []


def guarded_spans(fn: ast.AST) -> list[tuple[int, int, int, int]]:
    """(line, col, end_line, end_col) of the code in `fn` that never runs when the model is
    compiled or exported for inference: guarded branches, short-circuited operands, and what
    follows `if not self.training: return` (in the function's block or an `if`'s)."""
    spans = _after_stops(fn.body)
    for node in statements(fn.body):
        if not isinstance(node, ast.If):
            continue
        spans += _after_stops(node.body) + _after_stops(node.orelse)
        guard = guard_of(node.test)
        branch = node.body if guard == "body" else node.orelse if guard == "orelse" else []
        if branch:
            spans.append((branch[0].lineno, branch[0].col_offset, branch[-1].end_lineno,
                          branch[-1].end_col_offset))
        for value in guarded_tail(node.test):
            spans.append((value.lineno, value.col_offset, value.end_lineno,
                          value.end_col_offset))
    return spans


def _docstring_span(fn: ast.AST) -> list[tuple[int, int, int, int]]:
    body = getattr(fn, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
            isinstance(body[0].value.value, str):
        d = body[0]
        return [(d.lineno, d.col_offset, d.end_lineno, d.end_col_offset)]
    return []


class HotPaths:
    """The functions a module's `forward` reaches, found once per file."""

    def __init__(self, tree: ast.Module, scopes: Scopes, lines: list[str]) -> None:
        self.scopes, self.lines = scopes, lines
        self.classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        self._module_memo: dict[int, bool] = {}  # by class node: nested classes share names
        self.hot: set[int] = set()  # ids of the function nodes that run in forward
        self.spans: list[tuple[int, int]] = []  # their lines
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
            self.spans.append((fn.lineno, fn.end_lineno or fn.lineno))
            text = "\n".join(self.lines[fn.lineno - 1:fn.end_lineno])
            # `>>> helper(x)` in the docstring, and `torch._check(c, lambda: helper(x))`,
            # call nothing while forward runs
            spans = guarded_spans(fn) + _docstring_span(fn) + self._check_messages(fn)
            runs = (lambda m: True) if not spans else self._outside(text, fn.lineno, spans)
            todo.extend(methods[m.group(1)] for m in SELF_CALL.finditer(text)
                        if m.group(1) in methods and runs(m))
            local = None
            defined = self.scopes.defined
            for name in {m.group(1) for m in BARE_CALL.finditer(text)
                         if m.group(1) in defined and runs(m)}:
                helper = self.scopes.defined.get(name)
                if isinstance(helper, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        name not in self.scopes.module:
                    local = function_bindings(fn) if local is None else local
                    if name not in local:
                        todo.append(helper)  # a helper of this module

    def _check_messages(self, fn: Function) -> list[tuple[int, int, int, int]]:
        """The message functions of the `torch._check(...)` statements in `fn`."""
        spans = []
        for node in statements(fn.body):
            call = node.value if isinstance(node, ast.Expr) else None
            if isinstance(call, ast.Call) and \
                    (self.scopes.qualname(call.func) or "").startswith(CHECKS):
                spans += [(a.lineno, a.col_offset, a.end_lineno, a.end_col_offset)
                          for a in [*call.args, *(k.value for k in call.keywords)]
                          if isinstance(a, ast.Lambda)]
        return spans

    @staticmethod
    def _outside(text: str, first: int, spans: list[tuple[int, int, int, int]]):
        """A test for a regex match in a function's text: is it outside every guarded span?
        (A call made only under `if self.training:` does not make its callee hot.)"""
        starts = [0, *(m.end() for m in re.finditer("\n", text))]

        def runs(m: re.Match[str]) -> bool:
            offset = m.start()
            row = bisect.bisect_right(starts, offset) - 1
            where = (first + row, len(text[starts[row]:offset].encode("utf-8")))
            return not any((a, b) <= where < (c, d) for a, b, c, d in spans)
        return runs

    def inside(self, fn: ast.AST) -> bool:
        """Does `fn` hold a function that runs in forward (a module class defined in it)?"""
        first, last = fn.lineno, fn.end_lineno or fn.lineno
        return any(first <= a and b <= last for a, b in self.spans)

    def __contains__(self, fn: ast.AST) -> bool:
        return id(fn) in self.hot
