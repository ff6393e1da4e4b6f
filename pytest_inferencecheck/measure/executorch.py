"""What ExecuTorch says about a program, in the table's words: the operators a `.pte` needs
outside its delegates (and the model lines they come from), a runtime failure read from the
runtime's own log (the error code's name, the operator, the instruction, the kernel's reason),
and a lowering failure named by the node a backend raised on and the frame that raised.

Reads ExecuTorch's objects and logs; imports neither ExecuTorch nor its runtime."""

from __future__ import annotations

import re
import traceback
from typing import Any

import torch

from pytest_inferencecheck.errors import Explained
from pytest_inferencecheck.measure.hints import lower_hint
from pytest_inferencecheck.recommendations.operators import OperatorSet
from pytest_inferencecheck.result import Failure
from pytest_inferencecheck.support import compat
from pytest_inferencecheck.support.locations import Location, display_path, locate

#: `executorch/runtime/core/error.h`: the runtime's error codes by value.
ERROR_NAMES = {
    0x00: "Ok", 0x01: "Internal", 0x02: "InvalidState", 0x03: "EndOfMethod",
    0x04: "AlreadyLoaded", 0x10: "NotSupported", 0x11: "NotImplemented",
    0x12: "InvalidArgument", 0x13: "InvalidType", 0x14: "OperatorMissing",
    0x15: "RegistrationExceedingMaxKernels", 0x16: "RegistrationAlreadyRegistered",
    0x20: "NotFound", 0x21: "MemoryAllocationFailed", 0x22: "AccessFailed",
    0x23: "InvalidProgram", 0x24: "InvalidExternalData", 0x25: "OutOfResources",
    0x30: "DelegateInvalidCompatibility", 0x31: "DelegateMemoryAllocationFailed",
    0x32: "DelegateInvalidHandle",
}

_CODE = re.compile(r"error(?: code)?:?\s*0x:?(?P<code>[0-9a-fA-F]+)")
_KERNEL_CALL = re.compile(r"KernelCall failed at instruction (?P<at>[\d:]+) in operator "
                          r"(?P<op>\S+?):? 0x")
_MISSING = re.compile(r"Missing operator: \[\d+\] (?P<op>\S+)")
_CHECK = re.compile(r"Check failed \((?P<cond>.*?)\): ?(?P<why>.*)$")
_LOG_PREFIX = re.compile(r"^\[[\w.]+:\d+\] ")
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<fn>\S+)')
_KEEP = ("Check failed", "KernelCall failed", "Missing operator", "not found", "failed",
         "error", "Error", "Expect")
LOG_LINES = 20  # the runtime's own lines a report keeps


# -- the operators a .pte needs ---------------------------------------------------------------

def _root_name(node: torch.fx.Node) -> str | None:
    """The node of the exported program this lowered node comes from (ExecuTorch keeps it)."""
    source = node.meta.get("from_node")
    name = None
    while source:
        name, source = source[-1].name, source[-1].from_node
    return name


def plan_operators(program_manager: Any) -> list[dict[str, Any]]:
    """Every operator the `.pte`'s plan calls (outside its delegates), each with the nodes of the
    exported program it comes from: what the app's runtime must have."""
    plan = program_manager.executorch_program.execution_plan[0]
    names = sorted({f"{o.name}.{o.overload}" if o.overload else o.name for o in plan.operators})
    sources: dict[str, set[str]] = {n: set() for n in names}
    for node in program_manager.exported_program().graph_module.graph.nodes:
        op = compat.operator_name(node.target) if node.op == "call_function" else None
        root = _root_name(node) if op in sources else None
        if op is not None and root is not None:
            sources[op].add(root)
    return [{"operator": n, "nodes": sorted(sources[n])} for n in names]


def _node_location(node: torch.fx.Node) -> Location | None:
    trace = node.meta.get("stack_trace") or ""
    frames = [(m["file"], int(m["line"]), m["fn"]) for m in _FRAME.finditer(trace)]
    user, _ = locate(frames)
    return user if user is not None and user.user_code else None


def locate_operators(operators: list[dict[str, Any]],
                     program: torch.export.ExportedProgram | None) -> list[dict[str, Any]]:
    """The operators with the line of the user's code each comes from, read from this check's
    own exported program (a stored `.pte` names the program's nodes, not anyone's files)."""
    nodes = {n.name: n for n in program.graph.nodes} if program is not None else {}
    out = []
    for entry in operators:
        where = next((loc for loc in (_node_location(nodes[name]) for name in entry["nodes"]
                                      if name in nodes) if loc is not None), None)
        out.append({"operator": entry["operator"],
                    "file": display_path(where.file) if where else None,
                    "line": where.line if where else None})
    return out


def missing_operators(operators: list[dict[str, Any]], app: OperatorSet) -> Failure | None:
    """The operators the `.pte` needs that the app's runtime was not built with: the
    `OperatorMissing` a phone would hit when it loads the program."""
    missing = [o for o in operators if not app.has(o["operator"])]
    if not missing:
        return None
    first = next((o for o in missing if o["file"]), missing[0])
    lines = "\n".join(f"  - {o['operator']}" + (f" (from {o['file']}:{o['line']})"
                                                  if o["file"] else "") for o in missing)
    return Failure(
        "executorch_operators",
        f"the .pte needs {len(missing)} operator{'s' if len(missing) != 1 else ''} that the "
        f"app's runtime ({app.path}) was not built with; loading it there fails with "
        f"OperatorMissing (0x14):\n{lines}",
        "add the operators to the app's selective build (its selected_operators.yaml or "
        "operator list) and rebuild the app, or replace the calls at the lines shown with "
        "operators the app has (or that the partitioner delegates)",
        first["file"], first["line"])


# -- a runtime failure ------------------------------------------------------------------------

def error_name(text: str) -> tuple[int, str] | None:
    """The runtime's error code in a message (`0x12`, `0x:14`) and its name."""
    m = _CODE.search(text)
    if not m:
        return None
    code = int(m["code"], 16)
    return code, ERROR_NAMES.get(code, "unknown error")


def log_lines(log: str) -> list[str]:
    """The runtime's own lines that say what failed (not its CPU probing or argument dumps)."""
    lines = [_LOG_PREFIX.sub("", line).strip() for line in log.splitlines()]
    keep = [line for line in lines if line and any(k in line for k in _KEEP)]
    return keep[:LOG_LINES]


def runtime_failure(exc: BaseException, log: str, when: str, et: dict[str, Any],
                    operators: list[dict[str, Any]]) -> Explained:
    """A runtime error (`when`: loading or running the program), named from its log."""
    code = error_name(str(exc))
    lines = log_lines(log)
    code_text = f"{code[1]} (0x{code[0]:02x})" if code else "an error"
    where = {o["operator"]: o for o in operators}
    missing = [m["op"] for line in lines for m in [_MISSING.search(line)] if m]
    call = next((m for line in lines for m in [_KERNEL_CALL.search(line)] if m), None)
    reasons = [m["why"].strip() or m["cond"] for line in lines
               for m in [_CHECK.search(line)] if m]
    op = call["op"] if call else (missing[0] if missing else None)
    src = where.get(op or "", {})
    at = f" (from {src['file']}:{src['line']})" if src.get("file") else ""
    if missing or (code and code[1] == "OperatorMissing"):
        names = ", ".join(missing) or "an operator"
        message = (f"the ExecuTorch runtime failed {when} the .pte with {code_text}: its "
                   f"kernel registry has no {names}{at}")
        hint = (f"this runtime was built without a kernel for {names}: build the app's runtime "
                "with it (ExecuTorch selective build, or a custom kernel), make the partitioner "
                "delegate it, or replace the call at the line shown with operators the runtime "
                "has")
    elif call:
        reason = f": the kernel says: {reasons[0]}" if reasons else ""
        message = (f"the ExecuTorch runtime failed {when} the .pte with {code_text} in operator "
                   f"{call['op']} at instruction {call['at']}{at}{reason}")
        delegated = ", ".join(et.get("partitioners", [])) or "no partitioner"
        hint = (f"{call['op']} ran on ExecuTorch's portable kernels ({delegated} did not take "
                "it), and that kernel does not support these inputs (their rank, dtype or "
                "sizes, as it says): change the call at the line shown to a form the backend "
                "delegates or the kernel supports (e.g. a 2-D instead of a 3-D convolution, "
                "float32), or add a partitioner that takes it")
    else:
        message = f"the ExecuTorch runtime failed {when} the .pte with {code_text}: {exc}"
        hint = "the runtime's own log below says what failed"
    if lines:
        message += "\nruntime log:\n" + "\n".join(f"  {line}" for line in lines)
    return Explained(message, hint, file=src.get("file"), line=src.get("line"),
                     details="\n".join(lines) or None,
                     facts={**et, "runtime_log": lines, "executed": False})


# -- a lowering failure -----------------------------------------------------------------------

_BUG_TYPES = (IndexError, KeyError, AttributeError, TypeError, AssertionError,
              ZeroDivisionError, NameError, RecursionError)
_BACKEND = re.compile(r"[/\\]executorch[/\\]backends[/\\](?:apple[/\\])?(?P<name>\w+)[/\\]")


def _innermost_node(exc: BaseException) -> torch.fx.Node | None:
    node, tb = None, exc.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if isinstance(value, torch.fx.Node) and value.op == "call_function" \
                    and getattr(value.target, "_schema", None) is not None:  # an operator's
                node = value
        tb = tb.tb_next
    return node


def _owner(filename: str) -> str | None:
    """Whose code a frame is in: an ExecuTorch backend's, ExecuTorch's own, or torch's."""
    m = _BACKEND.search(filename)
    if m:
        part = "partitioner" if re.search(r"[/\\]partition", filename) else "backend"
        return f"ExecuTorch's {m['name'].upper()} {part}"
    if re.search(r"[/\\]executorch[/\\]", filename):
        return "ExecuTorch"
    if re.search(r"[/\\]torch[/\\]", filename):
        return "torch"
    return None


def _omitted_arguments(node: torch.fx.Node) -> list[str]:
    schema = getattr(node.target, "_schema", None)
    if schema is None:
        return []
    given = len(node.args)
    return [a.name for a in schema.arguments[given:] if not a.kwarg_only
            and a.name not in node.kwargs]


def _named_node(message: str, program: torch.export.ExportedProgram | None) -> torch.fx.Node | None:
    """The program's first call of an operator the message names (`'my_ns::op'`)."""
    names = set(re.findall(r"\b(\w+::\w+)\b", message))
    for node in program.graph.nodes if program is not None and names else ():
        name = compat.operator_name(node.target) if node.op == "call_function" else None
        if name is not None and name.split(".")[0] in names:
            return node
    return None


def lowering_failure(exc: BaseException, stage: str, partitioners: list[str],
                     program: torch.export.ExportedProgram | None = None) -> Explained | None:
    """An exception raised inside a backend's or ExecuTorch's own code while lowering a valid
    exported program, named as that code's failure on the node it was handling, or on the
    operator its message names (None when the traceback shows no such frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    raised = frames[-1]
    owner = _owner(raised.filename)
    if owner is None:  # raised in the user's code (a custom operator's kernel, say)
        return None
    node = _innermost_node(exc) or _named_node(str(exc), program)
    bug = isinstance(exc, _BUG_TYPES)
    what = f"a bug of {owner}" if bug else f"{owner} rejected the program"
    frame = (f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
             f" (raised at {_short(raised.filename)}:{raised.lineno} in {raised.name})")
    doing = (f"lowering with {', '.join(partitioners)}" if stage == "lower" else
             "serializing the program (to_executorch)")
    file = line = None
    if node is not None:
        where = _node_location(node)
        file, line = (display_path(where.file), where.line) if where else (None, None)
        op = getattr(node.target, "__name__", str(node.target)).split(".")[0]
        at = f" at {file}:{line}" if file else " (no line of yours: library code)"
        message = f"{what} on `{op}` (node {node.name}, {node.target}){at}, while {doing}: {frame}"
    else:
        message = f"{what} while {doing}: {frame}"
    details = "".join(traceback.format_exception(exc)).rstrip()
    if not bug:  # a deliberate refusal: what it names (an operator, a pass) says what to do
        return Explained(message, lower_hint(str(exc), file is not None), file=file, line=line,
                         details=details)
    omitted = _omitted_arguments(node) if node is not None and isinstance(exc, IndexError) else []
    hints = []
    if omitted:
        hints.append(f"spell out `{omitted[0]}` in that call (the node carries {len(node.args)} "
                     "arguments and leaves the rest to their defaults, which this code reads "
                     "by position)")
    hints.append("lower with another partitioner (executorch_partitioners=[...]) or a newer "
                 "ExecuTorch")
    hints.append("report it to https://github.com/pytorch/executorch/issues with the traceback "
                 "in the JSON report (--tb=long shows it too): the exported program is valid")
    return Explained(message, "; ".join(hints), file=file, line=line, details=details)


def _short(filename: str) -> str:
    m = re.search(r"[/\\](executorch|torch)[/\\].*", filename)
    return m.group(0)[1:] if m else display_path(filename)
