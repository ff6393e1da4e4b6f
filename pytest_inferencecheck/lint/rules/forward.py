"""IC3xx: what `forward` (and what it calls) does that torch.compile or torch.export cannot
keep in one graph. Each message says what each of them does with it, as measured with torch 2.13
(`fullgraph=True` compile; `torch.export.export` strict and non-strict)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from pytest_inferencecheck.lint.rules.base import (
    EXPORT_DOCS,
    PYTORCH_DOCS,
    TROUBLESHOOTING_DOCS,
    Fields,
    Rule,
    display,
)
from pytest_inferencecheck.lint.scope import tail_name
from pytest_inferencecheck.lint.tensors import root_call_module

# The logging.Logger methods, and the *_once/advice ones that transformers adds to its loggers.
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log",
               "warning_once", "info_once", "warning_advice"}
LOGGER_NAMES = re.compile(r"^(log|logger|_logger|LOGGER|LOG)$")
WARNINGS = {"warnings.warn", "warnings.warn_explicit"}
TO_NUMBER = {"float", "int", "bool", "complex"}
CLOCKS = {f"time.{n}" for n in ("time", "time_ns", "perf_counter", "perf_counter_ns",
                                "monotonic", "monotonic_ns", "process_time", "process_time_ns",
                                "thread_time", "thread_time_ns", "clock_gettime",
                                "clock_gettime_ns")} \
    | {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
       "datetime.date.today", "timeit.default_timer"}
# These read the clock only when not given a time: `time.localtime()`, `time.strftime(fmt)`.
CLOCK_DEFAULTS = {"time.localtime": 0, "time.gmtime": 0, "time.ctime": 0, "time.asctime": 0,
                  "time.strftime": 1}


def _output(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    fn = node.func
    if isinstance(fn, ast.Name) and fn.id == "print" and ctx.is_builtin("print"):
        yield {"api": "print(...)"}
    elif qual is not None and (qual.startswith("logging.") or qual in WARNINGS):
        yield {"api": qual}
    elif isinstance(fn, ast.Attribute) and fn.attr in LOG_METHODS and qual is None and \
            LOGGER_NAMES.match(tail_name(fn.value) or ""):
        yield {"api": display(fn)}


def _method(name: str):
    def match(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
        fn = node.func
        if isinstance(fn, ast.Attribute) and fn.attr == name and qual is None and \
                not node.args and not node.keywords and \
                root_call_module(fn.value, ctx.scopes) in {None, "torch"}:
            yield {"api": f".{name}()"}
    return match


_item = _method("item")


def _to_number(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    yield from _item(node, qual, ctx)
    fn = node.func
    if isinstance(fn, ast.Name) and fn.id in TO_NUMBER and len(node.args) == 1 and \
            not node.keywords and ctx.is_builtin(fn.id) and ctx.holds_tensor(node.args[0]):
        yield {"api": f"{fn.id}({display(node.args[0])})"}


def _numpy(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    if qual is not None and (qual == "numpy" or qual.startswith("numpy.")):
        yield {"api": qual}


def _clock(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    if qual in CLOCKS or qual in CLOCK_DEFAULTS and not node.keywords and \
            len(node.args) <= CLOCK_DEFAULTS[qual]:
        yield {"api": f"{qual}()"}


def _branch(node: ast.AST, qual: str | None, ctx) -> Iterator[Fields]:
    """A test that reduces a tensor (`x.sum() > 0`, `torch.any(m)`, `t.item()`), or asks a
    tensor for its truth (`if mask:`, `if (x > 0).all():`, `if torch.eq(a, b):`)."""
    kind = {ast.If: "if", ast.While: "while", ast.IfExp: "... if ... else ..."}[type(node)]
    if ctx.reads_tensor_value(node.test):
        yield {"api": kind}


RULES: tuple[Rule, ...] = (
    Rule(
        code="IC301",
        name="print-in-forward",
        message=("`{api}` in forward is a graph break under torch.compile; torch.export traces "
                 "past it, but it runs once while exporting and is not in the exported program: "
                 "remove it or guard it with `if not torch.compiler.is_compiling():`"),
        what=("Finds print, logging and `warnings.warn` calls in forward, in the methods it "
              "calls on self, and in this module's functions it calls."),
        why=("Dynamo cannot put I/O in a graph: torch.compile splits the graph there "
             "(`fullgraph=True` fails). torch.export (strict and non-strict) succeeds, and the "
             "deployed program silently never prints, logs or warns."),
        example="def forward(self, x):\n    print(x.shape)\n    return self.lin(x)",
        instead=("def forward(self, x):\n"
                 "    if not torch.compiler.is_compiling():\n"
                 "        print(x.shape)\n"
                 "    return self.lin(x)"),
        references=(TROUBLESHOOTING_DOCS,),
        forward=True,
        match=_output,
    ),
    Rule(
        code="IC302",
        name="item-in-forward",
        message=("`{api}` in forward turns a tensor into a Python number: a graph break under "
                 "torch.compile (default settings), and a data-dependent value under "
                 "torch.export that fails where Python branches or guards on it: keep it a "
                 "tensor"),
        what="Finds `.item()`, and `float()`/`int()`/`bool()` of a tensor, in forward.",
        why=("torch.compile splits the graph at the conversion unless `capture_scalar_outputs` "
             "is set; torch.export traces an unbacked symbol, and non-strict export already "
             "fails on `x * float(t)`."),
        example="scale = x.max().item()",
        instead="scale = x.max()",
        references=(TROUBLESHOOTING_DOCS, EXPORT_DOCS),
        forward=True,
        match=_to_number,
    ),
    Rule(
        code="IC303",
        name="tolist-in-forward",
        message=("`.tolist()` in forward is a graph break under torch.compile and an error "
                 "under strict torch.export (non-strict export traces one data-dependent scalar "
                 "per element): keep the data as a tensor"),
        what="Finds `.tolist()` calls in forward.",
        why="Converting a tensor to Python lists leaves the graph.",
        example="ids = x.tolist()",
        instead="ids = x",
        references=(TROUBLESHOOTING_DOCS,),
        forward=True,
        match=_method("tolist"),
    ),
    Rule(
        code="IC304",
        name="numpy-conversion-in-forward",
        message=("`.numpy()` in forward: torch.compile and strict torch.export trace it through "
                 "torch's numpy support, but non-strict torch.export (the default) fails: use "
                 "torch operations"),
        what="Finds `.numpy()` calls in forward.",
        why="Non-strict export runs forward on fake tensors, which cannot become numpy arrays.",
        example="arr = x.cpu().numpy()",
        instead="arr = x",
        references=(TROUBLESHOOTING_DOCS, EXPORT_DOCS),
        forward=True,
        match=_method("numpy"),
    ),
    Rule(
        code="IC305",
        name="numpy-call-in-forward",
        message=("`{api}` in forward is a numpy call: torch.compile and strict torch.export "
                 "trace it, non-strict torch.export (the default) fails: use the torch "
                 "equivalent"),
        what="Finds calls into numpy in forward.",
        why=("numpy calls on tensors need a numpy array, which non-strict export's fake tensors "
             "cannot give; on constants they are traced as constants."),
        example="y = np.exp(x)",
        instead="y = torch.exp(x)",
        references=(TROUBLESHOOTING_DOCS, EXPORT_DOCS),
        default=False,
        forward=True,
        match=_numpy,
    ),
    Rule(
        code="IC306",
        name="branch-on-tensor-value",
        message=("Python `{api}` on a tensor value in forward is a graph break under "
                 "torch.compile and an error under torch.export (strict and non-strict): use "
                 "`torch.where`/`torch.cond`, or branch on shapes or config"),
        what=("Finds if/while/conditional expressions whose test reduces a tensor (`.sum()`, "
              "`.any()`, `.item()`, `torch.all(...)`, ...) or asks a tensor for its truth (`if "
              "mask:`, `if torch.eq(a, b):`)."),
        why=("Dynamo cannot trace control flow that depends on tensor values: torch.compile "
             "splits the graph, and torch.export reports a data-dependent branch."),
        example="if x.sum() > 0:\n    x = x * 2",
        instead="x = torch.where(x.sum() > 0, x * 2, x)",
        references=(f"{PYTORCH_DOCS}/cond.html",),
        on=("branch",),
        forward=True,
        match=_branch,
    ),
    Rule(
        code="IC307",
        name="clock-in-forward",
        message=("`{api}` in forward is a graph break under torch.compile and an error under "
                 "strict torch.export; non-strict torch.export freezes the value read while "
                 "exporting into the program: pass the value in as an input"),
        what=("Finds `time.time()`, `time.perf_counter()`, `timeit.default_timer()`, "
              "`datetime.now()` and the other clocks in forward (`time.localtime()` and "
              "`time.strftime(fmt)` too, which read the clock when given no time)."),
        why=("A clock read is a side effect Dynamo will not trace; where it is traced, the "
             "exported program holds one constant instead of the time."),
        example="def forward(self, x):\n    return x * time.time()",
        instead="def forward(self, x, now):\n    return x * now",
        references=(TROUBLESHOOTING_DOCS, EXPORT_DOCS),
        forward=True,
        match=_clock,
    ),
)
