"""Measure every graph break of a model on its example inputs, the way torch.compile sees them."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, Iterator

import torch

from pytest_inferencecheck.measure.hints import graph_break_hint
from pytest_inferencecheck.result import GraphBreak
from pytest_inferencecheck.support import compat
from pytest_inferencecheck.support.locations import locate
from pytest_inferencecheck.support.quiet import quiet_torch


def _explanation(msg: str, gb_type: str) -> str:
    m = re.search(r"Explanation:\s*(.+?)(?:\n\s*Hint:|\n\s*\n|$)", msg, re.DOTALL)
    text = m.group(1) if m else (msg.strip().splitlines() or [gb_type])[0]
    return " ".join(text.split())


@dataclass
class _Logged:
    """One break as Dynamo logged it: its exception (type, message) and the user's stack."""

    reason: str
    exc: Any
    stack: list[Any]


@dataclass
class _Sink:
    logged: list[_Logged]
    failed: bool = False  # a call the recorder could not read: the breaks come from explain()


@contextlib.contextmanager
def _recording(hook: compat.BreakHook, sink: _Sink) -> Iterator[None]:
    """Record every break Dynamo logs, as structured data rather than parsed log text.

    The method's signature changes between torch releases, so arguments are bound by name.
    Whatever the recorder fails to read, Dynamo's own call goes on untouched: a failure of ours
    is never a Dynamo crash blamed on the model or on PyTorch."""

    def log_graph_break(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            _record(hook.signature.bind(self, *args, **kwargs).arguments, sink)
        except Exception:  # noqa: BLE001 - a form of the call this recorder does not know
            sink.failed = True
        return hook.original(self, *args, **kwargs)

    hook.owner.log_graph_break = log_graph_break  # type: ignore[attr-defined]
    try:
        with quiet_torch():  # Dynamo's own warnings duplicate what we report
            yield
    finally:
        hook.owner.log_graph_break = hook.original  # type: ignore[attr-defined]


def _record(bound: dict[str, Any], sink: _Sink) -> None:
    reason, exc = str(bound.get("reason") or ""), bound.get("exc")
    if exc is not None:  # torch 2.13: the exception says it all, once
        if not getattr(exc, "logged", False):
            sink.logged.append(_Logged(reason, exc, list(getattr(exc, "real_stack", None) or [])))
    elif "exc" not in bound:  # torch 2.10: the message and the stack
        stack = bound.get("user_stack") or compat.tracing_stack()
        sink.logged.append(_Logged(reason, _reason_of(reason), list(stack)))


class _GraphCounter:
    """A backend that runs each captured graph eagerly and counts them."""

    def __init__(self) -> None:
        self.graphs = 0

    def __call__(self, gm: torch.fx.GraphModule, example_inputs: Any) -> Any:
        self.graphs += 1
        return gm.forward


def to_graph_break(logged: _Logged, ids: dict[str, str]) -> GraphBreak:
    """Turn one recorded Dynamo break into a `GraphBreak` located in the user's code."""
    exc = logged.exc
    gb_type = getattr(exc, "gb_type", None) or type(exc).__name__
    msg = getattr(exc, "msg", None) or logged.reason
    explanation = _explanation(msg, gb_type)
    frames = [(f.filename, f.lineno or 0, f.name) for f in logged.stack]
    user, library = locate(frames)
    return GraphBreak(
        type=ids.get(gb_type, gb_type),
        name=gb_type,
        reason=f"{gb_type}: {explanation}" if explanation != gb_type else gb_type,
        file=user.file if user else None,
        line=user.line if user else None,
        function=user.function if user else None,
        user_code=library is None and user is not None,
        hint=graph_break_hint(f"{gb_type}\n{explanation}"),
        library_frame=str(library) if library else None,
    )


def find_graph_breaks(model: torch.nn.Module, args: tuple, kwargs: dict) -> tuple[list[GraphBreak], int]:
    """Trace the model with Dynamo; return its breaks (deduplicated) and the number of graphs.

    Dynamo state is reset before and after, so nothing leaks into the next model's check.
    """
    hook = compat.graph_break_hook()
    torch.compiler.reset()
    try:
        sink = _Sink([], failed=hook is None)
        if hook is not None:
            counter = _GraphCounter()
            compiled = torch.compile(model, backend=counter)
            with _recording(hook, sink), torch.no_grad():
                compiled(*args, **kwargs)
            graphs = counter.graphs
        if sink.failed:
            torch.compiler.reset()
            sink.logged, graphs = _explained(model, args, kwargs)
    finally:
        torch.compiler.reset()
    ids = compat.graph_break_ids()
    found: dict[tuple, tuple[GraphBreak, Any]] = {}
    for logged in sink.logged:
        gb = to_graph_break(logged, ids)
        site = _site(logged)
        key = (gb.type, site)
        # Dynamo retraces the frame below a break as a new top-level frame, so one break is often
        # logged twice: once with the user's call site above it, once without. Keep the located one.
        if key not in found or (found[key][0].file is None and gb.file is not None):
            found[key] = (gb, site)
    breaks = [(gb, site) for gb, site in found.values()]
    # A break inside a loop is also reported as "graph break in loop" at the same site:
    # one cause, one entry, the specific one.
    specific = {site for gb, site in breaks if gb.name not in _WRAPPERS}
    return [gb for gb, site in breaks if gb.name not in _WRAPPERS or site not in specific], graphs


@dataclass
class _Reason:
    """A break `torch._dynamo.explain` reports: the type is its message's first line."""

    gb_type: str
    msg: str


def _explained(model: torch.nn.Module, args: tuple, kwargs: dict) -> tuple[list[_Logged], int]:
    """The breaks and graphs as `torch._dynamo.explain` (public since torch 2.0) reports them,
    for a torch without the logging method `_recording` wraps."""
    explain = compat.dynamo_explain()
    if explain is None:
        raise RuntimeError(f"this torch ({torch.__version__}) records graph breaks neither "
                           "through Dynamo's log_graph_break nor torch._dynamo.explain: "
                           "install torch >= 2.10")
    with quiet_torch(), torch.no_grad():
        out = explain(model)(*args, **kwargs)
    logged = [_Logged(str(r.reason), _reason_of(str(r.reason)), list(r.user_stack or []))
              for r in out.break_reasons]
    return logged, int(out.graph_count)


def _reason_of(text: str) -> _Reason:
    """A break's type and message from its text alone (where no exception carries them): the
    type is the message's first line, below Dynamo's "Encountered graph break when attempting
    to trace ...:" preamble where there is one."""
    if text.startswith(_PREAMBLE) and "\n\n" in text:
        text = text.split("\n\n", 1)[1]
    first = (text.strip().splitlines() or ["graph break"])[0].strip()
    gb_type = next((t for prefix, t in _EXPLAIN_TYPES if first.startswith(prefix)), first)
    return _Reason(gb_type, text)


def _site(logged: _Logged) -> tuple[str, int] | None:
    stack = logged.stack
    return (stack[-1].filename, stack[-1].lineno) if stack else None


# explain() names a break at a conditional jump by the bytecode step, not by its break type
_EXPLAIN_TYPES = (("generic_jump", "Data-dependent branching"),)
_PREAMBLE = "Encountered graph break when attempting to trace"
_WRAPPERS = frozenset({"graph break in loop"})
