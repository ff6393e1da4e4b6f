"""Walk one file's syntax tree once and let the rules report. Pure: source text in, findings out.

The walker keeps what rules need to know about the place an event happens (`Context`): the
scope that resolves names, whether `forward` reaches this code, whether a compile guard skips
it, which names hold tensors, and the file's deployment target."""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import re
from dataclasses import dataclass

from pytest_inferencecheck.lint.fixes import Fix, Source
from pytest_inferencecheck.lint.hot_paths import (
    CHECKS,
    HotPaths,
    guard_of,
    guarded_tail,
    short_circuits,
    stops_inference,
)
from pytest_inferencecheck.lint.rules import RULES, Rule
from pytest_inferencecheck.lint.scope import Function, Scopes
from pytest_inferencecheck.lint.tensors import FunctionNames, Tensors
from pytest_inferencecheck.recommendations.table import Target

_LINES = re.compile(r"\r\n|\r|\n")
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)


@dataclass(frozen=True)
class Finding:
    """One finding: where (1-based lines, 1-based character columns, the end exclusive), which
    rule, and the message with its placeholders filled."""

    path: str
    line: int
    col: int
    code: str
    message: str
    end_line: int | None = None
    end_col: int | None = None
    fingerprint: str = ""  # the rule, file, flagged line's text and its occurrence: no numbers
    fix: Fix | None = None

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        """A finding as `dataclasses.asdict` wrote it (the lint cache)."""
        fix = data.get("fix")
        return cls(**{**data, "fix": None if fix is None else Fix.from_dict(fix)})


def source_lines(source: str) -> list[str]:
    """The lines ast numbers (it counts \\n, \\r\\n and \\r; str.splitlines counts more)."""
    return _LINES.split(source) if "\r" in source else source.split("\n")  # same, faster


class Context:
    """What the rules may ask about the place of the current event."""

    def __init__(self, tree: ast.Module, lines: list[str], target: Target | None) -> None:
        self.target = target
        self.source = Source(lines)  # for fixes: positions and the text of expressions
        self.scopes = Scopes(tree)
        self.hot = HotPaths(tree, self.scopes, lines)
        self.tensors = Tensors(self.scopes)
        self.functions: list[Function] = []
        self.in_forward = 0
        self.guarded = 0

    def qualname(self, node: ast.AST) -> str | None:
        """The qualified name an expression refers to in this scope (None if unknown)."""
        return self.scopes.qualname(node)

    def is_builtin(self, name: str) -> bool:
        """Is `name` the builtin here (not imported, assigned or defined)?"""
        return self.scopes.is_builtin(name)

    def _names(self) -> FunctionNames:
        return self.tensors.names(self.functions[-1] if self.functions else None)

    def holds_tensor(self, node: ast.AST) -> bool:
        """Does this expression hold a tensor (a reduction of one included)?"""
        return self.tensors.is_tensor(node, self._names())

    def reads_tensor_value(self, test: ast.AST) -> bool:
        """Does a condition depend on a tensor's value?"""
        return self.tensors.read_in_test(test, self._names())


class _Walker(ast.NodeVisitor):
    def __init__(self, path: str, source: str, tree: ast.Module, target: Target | None,
                 rules: list[Rule]) -> None:
        self.path, self.lines = path, source_lines(source)
        self.ctx = Context(tree, self.lines, target)
        self.findings: list[Finding] = []
        # (event, forward-only) -> qualified name or ".method" -> rules: a rule with `apis` or
        # `triggers` is consulted only for those names; one without triggers for every event
        self.by_name: dict[tuple[str, bool], dict[str, list[Rule]]] = {}
        self.always: dict[tuple[str, bool], list[Rule]] = {}
        for rule in rules:
            if rule.needs_target and target is None:
                continue
            for event in rule.on:
                key = (event, rule.forward)
                for name in rule.apis | rule.triggers:
                    self.by_name.setdefault(key, {}).setdefault(name, []).append(rule)
                if rule.match is not None and not rule.triggers:
                    self.always.setdefault(key, []).append(rule)
        self.cold = self._cold_words()

    def _cold_words(self) -> re.Pattern[str] | None:
        """What a function outside forward must mention for any rule to find anything in it:
        the last name of every API and trigger the rules outside forward listen for, and
        every name an import binds to one of them. A function whose text says none of them
        is not walked (most of a model file's code outside forward: `__init__`, weight
        init, loading); None when a rule outside forward looks at every event."""
        if any(not forward for _, forward in self.always):
            return None
        words: set[str] = set()
        apis: set[str] = set()
        for (_, forward), named in self.by_name.items():
            if not forward:
                for name in named:
                    words.add(name.rsplit(".", 1)[-1])
                    if not name.startswith("."):
                        apis.add(name)
        prefixes = _prefixes(frozenset(apis))
        words.update(name for name, qual in self.ctx.scopes.bindings() if qual in prefixes)
        return _word_pattern(frozenset(words))

    def _silent(self, fn: ast.AST) -> bool:
        """Can no rule find anything in this function (outside forward)?"""
        if self.cold is None or self.ctx.hot.inside(fn):
            return False
        text = "\n".join(self.lines[fn.lineno - 1:fn.end_lineno])
        return self.cold.search(text) is None

    # -- reporting -------------------------------------------------------------------------
    def report(self, node: ast.AST, rule: Rule, fields: dict[str, str],
               qual: str | None = None) -> None:
        col = self.ctx.source.col
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None)
        fix = rule.fixer(node, qual, self.ctx) if rule.fixer is not None else None
        self.findings.append(Finding(
            self.path, line, col(line, getattr(node, "col_offset", 0) or 0), rule.code,
            rule.message.format(**fields), end_line,
            col(end_line, getattr(node, "end_col_offset", 0) or 0) if end_line else None,
            fix=fix))

    def event(self, kind: str, node: ast.AST, qual: str | None) -> None:
        """Let every rule listening for `kind` (and, where it says, for this name) look at
        `node`."""
        forward = self.ctx.in_forward > 0 and not self.ctx.guarded
        method = node.func.attr if isinstance(node, ast.Call) and \
            isinstance(node.func, ast.Attribute) else None
        for key in ((kind, False), (kind, True)) if forward else ((kind, False),):
            named = self.by_name.get(key)
            rules: list[Rule] = []
            if named:
                if qual is not None:
                    rules += named.get(qual, ())
                if method is not None:
                    rules += named.get("." + method, ())
            for rule in (*dict.fromkeys(rules), *self.always.get(key, ())):
                for fields in rule.hits(node, qual, self.ctx):
                    self.report(node, rule, fields, qual)

    # -- traversal: ast.NodeVisitor's, without its per-node generator and name lookups ---------
    _methods: dict[type, str] = {}

    def visit(self, node: ast.AST) -> None:
        method = self._methods.get(node.__class__)
        if method is None:
            method = self._methods[node.__class__] = "visit_" + node.__class__.__name__
        getattr(self, method, self.generic_visit)(node)

    def generic_visit(self, node: ast.AST) -> None:
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                self.visit(value)

    def visit_Name(self, node: ast.Name) -> None:  # nothing below a name
        pass

    visit_Constant = visit_Name

    # -- events ----------------------------------------------------------------------------
    def _statements(self, body: list[ast.stmt]) -> None:
        """A block; after `if not self.training: return x` the rest never runs in inference."""
        stopped = 0
        for child in body:
            self.visit(child)
            if not stopped and stops_inference(child):
                stopped = 1
                self.ctx.guarded += 1
        self.ctx.guarded -= stopped

    def visit_Call(self, node: ast.Call) -> None:
        qual = self.ctx.qualname(node.func)
        self.event("call", node, qual)
        if qual is not None and qual.startswith(CHECKS):  # `torch._check(c, lambda: msg)`:
            self.visit(node.func)  # the message runs only when the check fails
            for child in [*node.args, *node.keywords]:
                lazy = isinstance(child, ast.Lambda)
                self.ctx.guarded += lazy
                self.visit(child)
                self.ctx.guarded -= lazy
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.event("import", node, None)

    visit_ImportFrom = visit_Import

    def _decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call):  # `@torch.compile(mode=...)`: a call like any other
                self.visit(dec)
            else:
                self.event("decorator", dec, self.ctx.qualname(dec))

    def _branch(self, node: ast.If | ast.While | ast.IfExp) -> None:
        self.event("branch", node, None)

    def visit_If(self, node: ast.If) -> None:
        if not short_circuits(node.test):
            self._branch(node)
        tail = guarded_tail(node.test)  # `self.training and f(x)`: f runs only in training
        if tail:
            self.visit(node.test.values[0])
            self.ctx.guarded += 1
            for value in tail:
                self.visit(value)
            self.ctx.guarded -= 1
        else:
            self.visit(node.test)
        guard = guard_of(node.test)
        for body, guarded in ((node.body, guard == "body"), (node.orelse, guard == "orelse")):
            self.ctx.guarded += guarded
            self._statements(body)
            self.ctx.guarded -= guarded

    def visit_While(self, node: ast.While) -> None:
        self._branch(node)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._branch(node)
        self.generic_visit(node)

    # -- scopes ----------------------------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._decorators(node)
        for child in [*node.bases, *node.keywords, *node.body]:
            self.visit(child)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._decorators(node)
        for child in [*node.args.defaults, *node.args.kw_defaults]:
            if child is not None:
                self.visit(child)
        hot = node in self.ctx.hot
        if not hot and not self.ctx.in_forward and self._silent(node):
            return  # nothing in it could be a finding: see _cold_words
        self.ctx.scopes.enter(node)
        self.ctx.functions.append(node)
        self.ctx.in_forward += hot
        self._statements(node.body)
        self.ctx.in_forward -= hot
        self.ctx.functions.pop()
        self.ctx.scopes.leave()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for child in [*node.args.defaults, *node.args.kw_defaults]:
            if child is not None:
                self.visit(child)
        self.ctx.scopes.enter(node)
        self.visit(node.body)
        self.ctx.scopes.leave()


@functools.lru_cache(maxsize=64)
def _prefixes(apis: frozenset[str]) -> frozenset[str]:
    """Every API and every dotted prefix of one (`torch`, `torch.jit`, `torch.jit.script`)."""
    return frozenset(".".join(parts[:i]) for a in apis
                     for parts in [a.split(".")] for i in range(1, len(parts) + 1))


@functools.lru_cache(maxsize=64)
def _word_pattern(words: frozenset[str]) -> re.Pattern[str]:
    if not words:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words))) + r")\b")


def check_tree(tree: ast.Module, source: str, path: str, target: Target | None = None,
               rules: list[Rule] | None = None) -> list[Finding]:
    """Every finding of `rules` (default: all) in one parsed file."""
    walker = _Walker(path, source, tree, target, list(RULES if rules is None else rules))
    walker.visit(tree)
    return sorted(set(walker.findings), key=lambda f: (f.line, f.col, f.code))


def fingerprinted(findings: list[Finding], lines: list[str]) -> list[Finding]:
    """Give each reported finding a fingerprint that survives edits elsewhere in the file
    (SARIF's partialFingerprints): its rule, path and stripped line text, and which occurrence
    of that pair it is, never a line number."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for f in findings:
        text = " ".join(lines[f.line - 1].split()) if 0 < f.line <= len(lines) else ""
        n = seen[(f.code, text)] = seen.get((f.code, text), -1) + 1
        digest = hashlib.sha256(f"{f.code}\0{f.path}\0{text}\0{n}".encode()).hexdigest()[:32]
        out.append(dataclasses.replace(f, fingerprint=f"{digest}:{n + 1}"))
    return out


def check_source(source: str, path: str, target: Target | None = None,
                 rules: list[Rule] | None = None) -> list[Finding]:
    """Every finding in one file's source (raises SyntaxError if it does not parse)."""
    return check_tree(ast.parse(source, filename=path), source, path, target, rules)
