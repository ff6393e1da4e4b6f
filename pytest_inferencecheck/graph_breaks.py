"""Measure every graph break of a model on its example inputs, the way torch.compile sees them."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

import torch

from .hints import graph_break_hint
from .locations import locate
from .quiet import quiet_torch
from .result import GraphBreak


def _gb_ids() -> dict[str, str]:
    try:  # private, but it is torch's own registry of break ids (GB0000...); absent means no ids
        from torch._dynamo.exc import _load_gb_type_to_gb_id_map

        return dict(_load_gb_type_to_gb_id_map())
    except Exception:  # noqa: BLE001
        return {}


def _explanation(msg: str, gb_type: str) -> str:
    m = re.search(r"Explanation:\s*(.+?)(?:\n\s*Hint:|\n\s*\n|$)", msg, re.DOTALL)
    text = m.group(1) if m else (msg.strip().splitlines() or [gb_type])[0]
    return " ".join(text.split())


@contextlib.contextmanager
def _recording(sink: list[tuple[str, Any]]) -> Iterator[None]:
    """Record every break Dynamo logs, as structured data rather than parsed log text."""
    from torch._dynamo import symbolic_convert

    cls = symbolic_convert.InstructionTranslatorBase
    original = cls.log_graph_break

    def log_graph_break(self, code_options, reason, exc):  # type: ignore[no-untyped-def]
        if not getattr(exc, "logged", False):
            sink.append((reason, exc))
        return original(self, code_options, reason, exc)

    cls.log_graph_break = log_graph_break  # type: ignore[method-assign]
    try:
        with quiet_torch():  # Dynamo's own warnings duplicate what we report
            yield
    finally:
        cls.log_graph_break = original  # type: ignore[method-assign]


class _GraphCounter:
    """A backend that runs each captured graph eagerly and counts them."""

    def __init__(self) -> None:
        self.graphs = 0

    def __call__(self, gm: torch.fx.GraphModule, example_inputs: Any) -> Any:
        self.graphs += 1
        return gm.forward


def to_graph_break(reason: str, exc: Any, ids: dict[str, str]) -> GraphBreak:
    """Turn one recorded Dynamo break into a `GraphBreak` located in the user's code."""
    gb_type = getattr(exc, "gb_type", None) or type(exc).__name__
    msg = getattr(exc, "msg", None) or str(reason)
    explanation = _explanation(msg, gb_type)
    stack = getattr(exc, "real_stack", None) or []
    frames = [(f.filename, f.lineno or 0, f.name) for f in stack]
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
    sink: list[tuple[str, Any]] = []
    counter = _GraphCounter()
    torch._dynamo.reset()
    try:
        compiled = torch.compile(model, backend=counter)
        with _recording(sink), torch.no_grad():
            compiled(*args, **kwargs)
    finally:
        torch._dynamo.reset()
    ids = _gb_ids()
    found: dict[tuple, tuple[GraphBreak, Any]] = {}
    for reason, exc in sink:
        gb = to_graph_break(reason, exc, ids)
        site = _site(exc)
        key = (gb.type, site)
        # Dynamo retraces the frame below a break as a new top-level frame, so one break is often
        # logged twice: once with the user's call site above it, once without. Keep the located one.
        if key not in found or (found[key][0].file is None and gb.file is not None):
            found[key] = (gb, site)
    breaks = [(gb, site) for gb, site in found.values()]
    # A break inside a loop is also reported as "graph break in loop" at the same site:
    # one cause, one entry, the specific one.
    specific = {site for gb, site in breaks if gb.name not in _WRAPPERS}
    return [gb for gb, site in breaks if gb.name not in _WRAPPERS or site not in specific], \
        counter.graphs


def _site(exc: Any) -> tuple[str, int] | None:
    stack = getattr(exc, "real_stack", None) or []
    return (stack[-1].filename, stack[-1].lineno) if stack else None


_WRAPPERS = frozenset({"graph break in loop"})
