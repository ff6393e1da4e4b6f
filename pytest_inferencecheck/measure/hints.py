"""One-line advice for the common kinds of graph break and export failure (pure, no torch)."""

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
    "see the PyTorch graph-break reference for this break type; restructure forward so Dynamo "
    "can trace it, or accept torch.compile (row 4) instead of AOTI"
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


def classify_export_error(message: str) -> tuple[str, str]:
    """Return (kind, hint) for a `torch.export` error message."""
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
        return "unsupported", ("rewrite the named construct with traceable torch ops, or try "
                               "`strict=False` export")
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
