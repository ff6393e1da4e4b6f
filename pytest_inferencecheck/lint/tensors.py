"""Which expressions hold tensors, from syntax alone, inside the functions `forward` reaches.

Deliberately narrow, for precision: a parameter annotated as a tensor, a local assigned only
tensors, a `torch.*` call, a reduction (`x.sum()`, `x.any()`), and arithmetic, comparisons and
indexing of these. Shapes (`x.shape`, `x.size(0)`), attributes of
`self` and config values are never tensors here."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from pytest_inferencecheck.lint.scope import Function, Scopes, statements, tail_name

# Tensor methods that reduce a tensor to a (0-d) value: a Python branch on one is data-dependent.
REDUCTIONS = {"sum", "any", "all", "max", "min", "mean", "item", "norm", "prod", "amax", "amin",
              "argmax", "argmin", "count_nonzero", "equal", "allclose", "isnan", "isinf",
              "isfinite", "nonzero"}
# Methods that return a tensor when called on one.
TENSOR_METHODS = REDUCTIONS | {"abs", "float", "half", "long", "int", "bool", "eq", "ne", "gt",
                               "lt", "ge", "le", "clone", "detach", "to", "view", "reshape",
                               "matmul", "softmax", "sigmoid", "exp", "log", "sqrt", "squeeze",
                               "unsqueeze", "transpose", "permute", "contiguous", "masked_fill",
                               "logical_and", "logical_or", "logical_not", "isclose", "cpu",
                               "cuda", "type_as", "expand", "flatten", "std", "var"}
TENSOR_ATTRIBUTES = {"T", "mT", "H", "mH", "data", "real", "imag", "grad"}
# torch functions that return Python values decided by shapes, dtypes, or the environment.
NOT_TENSOR = re.compile(r"^torch\.(compiler|jit|cuda|backends|distributed|_dynamo|_C|utils|onnx|"
                        r"export|fx|mps|cpu|xpu|_inductor|autograd\.grad_mode|accelerator|"
                        r"amp|mtia|hub|profiler|version|library|overrides|testing|package)\.|"
                        r"^torch\.(is_\w+|get_\w+|set_\w+|are_\w+|use_\w+|sym_\w+|seed|"
                        r"initial_seed|numel|Size|device|dtype|finfo|iinfo|"
                        r"no_grad|enable_grad|inference_mode|manual_seed|typename|result_type|"
                        r"promote_types|can_cast|broadcast_shapes|cond|where_if_any)$")
# torch functions whose result, tested by Python, is a data-dependent branch.
TORCH_PREDICATES = {f"torch.{n}" for n in ("any", "all", "equal", "allclose", "isclose", "isnan",
                                           "isinf", "isfinite", "count_nonzero", "sum", "max",
                                           "min", "mean", "eq", "ne", "gt", "lt", "ge", "le",
                                           "greater", "less", "logical_and", "logical_or",
                                           "logical_not", "is_nonzero")}
# What an unannotated `forward` parameter, or a value unpacked from a submodule's call, is
# called when it is not a tensor (sizes, flags, caches, configs): never guessed a tensor.
NOT_GUESSED = re.compile(r"(?i)(shape|size|sizes|len|length|dims?|num|count|past|cache|"
                         r"config|cfg|mode|flag|kwargs|args|layer_idx|^(use|return|output|is|"
                         r"do|has|n|num)_|^(training|self|cls|labels?|task|name|key|kind)$)")
CONFIG_NAMES = re.compile(r"(?i)(config|cfg|conf|settings|options|opts|args|hparams|params|"
                          r"kwargs|spec)$")
_NOT_VALUE_COMPARE = (ast.Is, ast.IsNot, ast.In, ast.NotIn)


def _alternatives(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _alternatives(node.left) + _alternatives(node.right)
    if isinstance(node, ast.Subscript) and (tail_name(node.value) or "") in {"Optional",
                                                                             "Union"}:
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return [a for n in inner for a in _alternatives(n)]
    return [node]


def _annotated_tensor(annotation: ast.AST | None) -> bool:
    """`torch.Tensor`, `Tensor`, `torch.FloatTensor`, `Optional[Tensor]`, `Tensor | None`,
    `"torch.Tensor"`; not `list[Tensor]` (a container) or `int | Tensor` (maybe a number)."""
    node = annotation
    if node is None:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return False
    kinds = [a for a in _alternatives(node)
             if not (isinstance(a, ast.Constant) and a.value is None)]
    return bool(kinds) and all((tail_name(a) or "").endswith("Tensor") for a in kinds)


@dataclass
class FunctionNames:
    """Per function: the names that hold tensors (annotated as one, or assigned only tensors),
    `foreign` names that hold numpy or other library values, and `guessed` names that are
    most likely tensors: `forward`'s unannotated parameters (`def forward(self, input_ids)`)
    and values unpacked from a submodule's call (`logits, _ = self.backbone(x)`). A guessed
    name counts as a tensor only where a number could not stand (`x[0]`, `x.float()`), never
    by itself: `if past:` and `if steps > 1:` stay Python."""

    tensors: set[str] = field(default_factory=set)
    foreign: set[str] = field(default_factory=set)
    guessed: set[str] = field(default_factory=set)

    def __contains__(self, name: str) -> bool:
        return name in self.tensors


def root_call_module(node: ast.AST, scopes: Scopes) -> str | None:
    """The module a chain of calls and attributes starts from: `np.random.rand(1).item` ->
    `numpy`; None when it does not start with an imported name."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            qual = scopes.qualname(node) if isinstance(node, ast.Attribute) else None
            if qual is not None:
                return qual.split(".")[0]
            node = node.value
        else:
            return None


class Tensors:
    """Tensor-valued names per function, found lazily, and the test for one expression."""

    def __init__(self, scopes: Scopes) -> None:
        self.scopes = scopes
        self._names: dict[int, FunctionNames] = {}
        self._classes: dict[int, set[str]] | None = None

    def names(self, fn: Function | None) -> FunctionNames:
        """The names that hold tensors in `fn` (parameters, then locals, to a fixpoint)."""
        if fn is None or isinstance(fn, ast.Lambda):
            return FunctionNames()
        if id(fn) in self._names:
            return self._names[id(fn)]
        found = self._names[id(fn)] = FunctionNames()
        args = fn.args
        positional = [*args.posonlyargs, *args.args]
        # an unannotated parameter is a flag or a size as often as a tensor (`training`,
        # `no_recycles`): only an annotation says "tensor"
        defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        for a, default in zip(positional, defaults):
            if isinstance(default, ast.Constant) and default.value is not None:
                continue  # `output_attentions: torch.Tensor | None = False` is a flag
            if _annotated_tensor(a.annotation):
                found.tensors.add(a.arg)
        found.tensors.update(a.arg for a in args.kwonlyargs if _annotated_tensor(a.annotation))
        assigned: dict[str, list[ast.AST]] = {}
        for node in statements(fn.body):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                assigned.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                    node.value is not None:
                assigned.setdefault(node.target.id, []).append(node.value)
        for name, values in assigned.items():  # `idx = np.array(idx)`, then `idx = idx + off`
            roots = {root_call_module(v, self.scopes) for v in values}
            if roots - {None, "torch"} and "torch" not in roots:
                found.foreign.add(name)
        if getattr(fn, "name", "") == "forward":
            for a, default in zip(positional[1:], defaults[1:]):  # after self
                if a.annotation is None and (default is None or (
                        isinstance(default, ast.Constant) and default.value is None)):
                    found.guessed.add(a.arg)
        methods = self._methods_beside(fn)
        for node in statements(fn.body):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], (ast.Tuple, ast.List)) and \
                    self._submodule_call(node.value, methods):
                found.guessed.update(e.id for e in node.targets[0].elts
                                     if isinstance(e, ast.Name))
        found.guessed = {n for n in found.guessed
                         if not NOT_GUESSED.search(n) and n not in found.foreign}
        params = {a.arg for a in (*positional, *args.kwonlyargs)}
        for _ in range(3):  # `m = x.max()` then `n = m + 1`: a short chain settles quickly
            grew = False
            for name, values in assigned.items():
                if name not in found.tensors and name not in params and \
                        all(self.is_tensor(v, found) for v in values):
                    found.tensors.add(name)
                    grew = True
            if not grew:
                break
        return found

    def _methods_beside(self, fn: Function) -> set[str]:
        """The names of the methods of `fn`'s class (empty for a function outside one)."""
        if self._classes is None:
            self._classes = {}
            for cls in self.scopes.classes:
                names = {n.name for n in cls.body
                         if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
                for n in cls.body:
                    self._classes[id(n)] = names
        return self._classes.get(id(fn), set())

    @staticmethod
    def _submodule_call(value: ast.AST, methods: set[str]) -> bool:
        """`self.backbone(x)`: a call of an attribute of self that is not one of the class's
        methods (a submodule, which returns tensors)."""
        return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
            isinstance(value.func.value, ast.Name) and value.func.value.id == "self" and \
            value.func.attr not in methods and not value.func.attr.startswith("_")

    def _likely(self, node: ast.AST, names: FunctionNames) -> bool:
        """A tensor, or a name guessed to hold one (see FunctionNames)."""
        return isinstance(node, ast.Name) and node.id in names.guessed or \
            self.is_tensor(node, names)

    def is_tensor(self, node: ast.AST, names: FunctionNames) -> bool:
        """Does this expression hold a tensor (as far as syntax shows)?"""
        if isinstance(node, ast.Name):
            return node.id in names
        if isinstance(node, ast.Call):
            f = node.func
            qual = self.scopes.qualname(f)
            if qual is not None:
                return qual.startswith("torch.") and not NOT_TENSOR.match(qual)
            if isinstance(f, ast.Attribute):
                if f.attr in REDUCTIONS:  # `.item()` gives a Python number
                    return f.attr != "item" and self.reduces(f.value, names)
                return f.attr in TENSOR_METHODS and self._likely(f.value, names)
            return False
        if isinstance(node, ast.BinOp):
            return self.is_tensor(node.left, names) or self.is_tensor(node.right, names)
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            return self.is_tensor(node.operand, names)
        if isinstance(node, ast.Compare):
            return not any(isinstance(op, _NOT_VALUE_COMPARE) for op in node.ops) and \
                any(self.is_tensor(v, names) for v in (node.left, *node.comparators))
        if isinstance(node, ast.Subscript):
            return self._likely(node.value, names)
        if isinstance(node, ast.Attribute):
            return node.attr in TENSOR_ATTRIBUTES and self._likely(node.value, names)
        return False

    def reduces(self, receiver: ast.AST, names: FunctionNames) -> bool:
        """Is `receiver.sum()` (a reduction) a tensor reduction? Yes for a tensor; for what
        syntax cannot tell, yes unless it is a literal, a module, or a config-like name."""
        if self.is_tensor(receiver, names):
            return True
        if isinstance(receiver, (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set,
                                 ast.JoinedStr)) or \
                isinstance(receiver, ast.Name) and receiver.id in names.foreign:
            return False
        if self.scopes.qualname(receiver) is not None:  # np.max, math..., a module attribute
            return False
        if root_call_module(receiver, self.scopes) not in {None, "torch"}:  # np.arange(n).max()
            return False
        return not CONFIG_NAMES.search(tail_name(receiver) or "")

    def read_in_test(self, test: ast.AST, names: FunctionNames) -> bool:
        """Does a condition read a tensor's value: reduce one anywhere in it (`x.sum() > 0`,
        `torch.any(m)`, `len(x.nonzero())`), or take a tensor's truth (`if mask:`,
        `if not (x > 0).all():`, `if a and torch.eq(a, b):`)?"""
        for node in ast.walk(test):
            if not isinstance(node, ast.Call):
                continue
            qual = self.scopes.qualname(node.func)
            if qual in TORCH_PREDICATES:
                return True
            if qual is None and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in REDUCTIONS and self.reduces(node.func.value, names):
                return True
        todo = [test]
        while todo:
            node = todo.pop()
            if isinstance(node, ast.BoolOp):
                todo.extend(node.values)
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                todo.append(node.operand)
            elif self.is_tensor(node, names):
                return True
        return False
