"""Advice, in one place: per stage that failed, per kind of graph break and export failure, for
a break failure by where the breaks live and which row the target has, for a lowering failure by
what it names, for outputs that differ, and for host faults (pure, no torch)."""

from __future__ import annotations

import re

# (pattern over "gb_type + explanation", hint). First match wins; order from specific to general.
GRAPH_BREAK_HINTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE | re.DOTALL), h)
    for p, h in (
        (r"builtin operator `print`|`print`|logging|logger",
         "remove the print/logging call from forward, or guard it with "
         "`if not torch.compiler.is_compiling():`"),
        (r"data-dependent branching|generic_jump",
         "replace the Python `if` on a tensor value with `torch.where(...)` or `torch.cond(...)`, "
         "or branch on shapes/config instead of values"),
        (r"Tensor\.item\(\)|\.item\b|capture_scalar_outputs",
         "keep the value as a tensor instead of calling `.item()`; if a Python number is needed, "
         "set `torch._dynamo.config.capture_scalar_outputs = True`"),
        (r"tolist",
         "keep the data as a tensor instead of calling `.tolist()`"),
        (r"numpy|\bnp\.|ndarray",
         "use the equivalent torch operation instead of numpy inside forward"),
        (r"dynamic shape operator|nonzero|unique|masked_select|capture_dynamic_output_shape_ops",
         "avoid ops whose output shape depends on data (nonzero, unique, boolean masks), or set "
         "`torch._dynamo.config.capture_dynamic_output_shape_ops = True`"),
        (r"builtin|C function|non-Tensor|skip function|marked as skipped|attempted to call function",
         "move the unsupported Python/C call out of forward, or wrap it as a custom op "
         "(`torch.library.custom_op`)"),
        (r"generator|yield", "avoid generators in forward; build a list or use a tensor op"),
    )
)

DEFAULT_GRAPH_BREAK_HINT = (
    "see the PyTorch graph-break reference for this break type, and restructure forward so "
    "Dynamo can trace it"
)


def graph_break_hint(text: str) -> str:
    """The most specific hint for a graph break described by its type and explanation."""
    for pattern, hint in GRAPH_BREAK_HINTS:
        if pattern.search(text):
            return hint
    return DEFAULT_GRAPH_BREAK_HINT


DATA_DEPENDENT_HINT = ("the control flow or shape depends on tensor values: use "
                       "`torch.cond`/`torch.where`, or state the assumption with `torch._check(...)`")
FAKE_KERNEL_HINT = ("a custom operator has no fake (meta) implementation: register one with "
                    "`@torch.library.register_fake`")

_UNREGISTERED = re.compile(
    r"Found <class '(?P<cls>[\w.]+)'> in (?P<where>output|input)s?, which is not a known type"
)


def classify_export_error(message: str, *, strict: bool = False) -> tuple[str, str]:
    """Return (kind, hint) for a `torch.export` error message, from an export that was `strict`
    or not: a hint never suggests what the export already did (non-strict is the default)."""
    m = _UNREGISTERED.search(message)
    if m:
        cls = m.group("cls").rsplit(".", 1)[-1]
        if "cache" in cls.lower():
            hint = (f"the model's {m.group('where')} holds a `{cls}`, which torch.export cannot "
                    "flatten: disable the cache (`use_cache=False`, e.g. "
                    "`model.config.use_cache = False` for Hugging Face models), use a static "
                    "cache made for export (transformers' `TorchExportableModuleWithStaticCache`), "
                    "or register the type as a pytree node")
        else:
            hint = (f"register `{cls}` with `torch.utils._pytree.register_pytree_node` (or "
                    "`torch.export.register_dataclass`), or return plain tensors/tuples/dicts")
        return f"unregistered-pytree-{m.group('where')}", hint
    if re.search(r"data-dependent|GuardOnDataDependentSymNode|unbacked", message, re.IGNORECASE):
        return "data-dependent", DATA_DEPENDENT_HINT
    if re.search(r"Constraints violated|ConstraintViolation|specialized|dynamic_shapes",
                 message, re.IGNORECASE):
        return "dynamic-shapes", (
            "the dynamic_shapes spec conflicts with the code: follow the suggested fixes in the "
            "message or mark that dimension static")
    if re.search(r"fake|meta kernel|Meta tensor", message, re.IGNORECASE):
        return "missing-fake-kernel", FAKE_KERNEL_HINT
    if re.search(r"Unsupported|not supported|graph break", message, re.IGNORECASE):
        return "unsupported", ("rewrite the named construct with traceable torch ops"
                               + (", or export non-strictly (drop strict_export=True: "
                                  "non-strict is the default)" if strict else ""))
    return "export-error", "read the error above; `torch.export.draft_export` lists more detail"


DRAFT_KIND_HINTS: dict[str, tuple[str, str]] = {
    "DATA_DEPENDENT_ERROR": ("data-dependent", DATA_DEPENDENT_HINT),
    "GUARD_ADDED": ("guard-added", "a shape assumption was specialized: check the dynamic_shapes "
                                   "spec for this dimension"),
    "MISSING_FAKE_KERNEL": ("missing-fake-kernel", FAKE_KERNEL_HINT),
    "MISMATCHED_FAKE_KERNEL": ("mismatched-fake-kernel",
                               "the fake kernel of a custom op disagrees with the real one "
                               "in shape or dtype: fix its `register_fake` implementation"),
}


#: What to do when a stage fails with an error of the model's (a host fault has its own).
STAGE_HINTS = {
    "eager": "the model must run in plain PyTorch on its example inputs first: fix the error at "
             "the user line shown, or the example inputs",
    "graph_breaks": "Dynamo crashed while tracing (not a graph break): try the latest torch, or "
                    "report it to PyTorch with this traceback",
    "aoti_compile": "AOTInductor could not compile the exported program: report it to PyTorch "
                    "with this model, or serve it with torch.compile (Python deployments only)",
    "aoti_load": "the compiled .pt2 package could not be loaded",
    "runner_build": "the C++ runner is built against the installed torch with the system "
                    "compiler: make sure a C++20 compiler is installed (or set CXX)",
    "compile": "torch.compile could not compile the model with this backend",
    "lower": "ExecuTorch could not lower the exported program with these partitioners: its "
             "error above says why; try another partitioner (executorch_partitioners=[...]) "
             "or a newer ExecuTorch",
    "to_executorch": "ExecuTorch could not serialize the lowered program to a .pte",
    "et_load": "the ExecuTorch runtime could not load the .pte",
    "run": "the artifact raised on the example inputs; the message above is the runtime's own",
}


def row3_hint(stage: str, export_hint: str = "") -> str:
    """What would move a row-5 model (torch.compile, because AOTI cannot serve it) to row 3."""
    if stage == "export":
        return ("make torch.export capture the model, and AOTInductor (Python) serves it, row 3: "
                + (export_hint or "the export issues say what stops it"))
    return (f"the model exports, so nothing in it stops AOTI: AOTInductor's {stage} stage failed "
            "on it; once a torch release compiles it (report it to PyTorch with this model), "
            "AOTInductor (Python) serves it, row 3")


def break_failure_hint(user_code: bool, *, cpp_server: bool) -> str:
    """What to do about graph breaks that fail a check: at the user's lines when any break is in
    their code; otherwise the library the breaks live in is where the fix is. A server without
    Python may also move to a Python deployment, where torch.compile serves breaks (row 4); a
    phone or edge device has no such row."""
    hint = ("remove each break at the user line shown (hints per break above)" if user_code else
            "every break is inside library code, not yours: upgrade that library (or torch), "
            "call it the way its export guide says (e.g. a static cache), or report the break "
            "to it")
    if cpp_server:
        hint += ("; or deploy with Python, where torch.compile serves a model with breaks "
                 "(row 4)")
    return hint


NUMERICS_HINT = ("a numerics bug in the compiled artifact: loosen atol/rtol only if the error is "
                 "expected (e.g. reduced precision), otherwise report it with this model")


def random_numerics_hint(ops: list[str]) -> str:
    """Outputs that differ where forward draws random numbers: inductor's generator is not
    eager's, so the same seed gives other numbers; that is not a bug in the artifact."""
    return (f"forward draws random numbers ({', '.join(ops[:3])}): a compiled artifact draws "
            "them from inductor's own generator, so even after the same manual_seed they differ "
            "from eager's. Compare with `torch._inductor.config.fallback_random = True` (eager's "
            "generator, slower), or move the randomness out of forward")


_OPERATOR = re.compile(r"\b(?:aten|torch\.ops\.\w+)\.\w+(?:\.\w+)?")
_PASS = re.compile(r"\b(\w+Pass)\b")
_MISSING_OUT = re.compile(r"Missing out variants: \{([^}]*)\}")


def lower_hint(message: str, user_line: bool) -> str:
    """What to do when ExecuTorch cannot lower a program, by what its error names: an operator
    (in the user's code or in a library's), one of ExecuTorch's own passes, or nothing."""
    missing_out = _MISSING_OUT.search(message)
    if missing_out:
        return (f"ExecuTorch calls operators by their out variant, and {missing_out.group(1)} "
                "has none: register one (an `.out` overload with an ExecuTorch kernel for the "
                "app's runtime), have a partitioner delegate it, or replace it with Core ATen "
                "operators")
    op = _OPERATOR.search(message)
    failing_pass = _PASS.search(message)
    if op:
        where = ("at the user line shown" if user_line else
                 "in library code (no line of yours calls it directly): upgrade that library, or "
                 "export the model the way its ExecuTorch guide says")
        return (f"ExecuTorch cannot lower `{op.group(0)}` {where}; replace it with operators of "
                "the Core ATen opset, or try another partitioner")
    if failing_pass:
        return (f"ExecuTorch's own {failing_pass.group(1)} failed on this program: a limitation "
                "or bug of ExecuTorch, not an operator of yours; try another partitioner, a "
                "newer ExecuTorch, or report it to ExecuTorch with this model")
    return STAGE_HINTS["lower"]
