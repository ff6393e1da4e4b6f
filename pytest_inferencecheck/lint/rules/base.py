"""What a lint rule is, and what the rule families share (documentation links, examples).

A rule matches one kind of event the walker sees (a `call`, a bare `decorator`, an `import`, a
`branch`). Rules that match qualified names list them in `apis` and the walker indexes them; the
others bring a `match` function. `forward` rules see only code that `forward` reaches, outside
`if not torch.compiler.is_compiling():` guards; `needs_target` rules only files that config maps
to a deployment target."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_inferencecheck.lint.fixes import SAFE, Edit, Fix

PYTORCH_DOCS = "https://pytorch.org/docs/stable"
EXPORT_DOCS = f"{PYTORCH_DOCS}/export.html"
AOTI_DOCS = f"{PYTORCH_DOCS}/torch.compiler_aot_inductor.html"
TROUBLESHOOTING_DOCS = f"{PYTORCH_DOCS}/torch.compiler_troubleshooting.html"
NOTE = "PyTorch 2.x Inference Recommendations (dev-discuss.pytorch.org, thread 2506)"

Fields = dict[str, str]
# (the event's node, its qualified name if any, the walker's Context) -> message fields per hit
Matcher = Callable[[ast.AST, "str | None", Any], Iterator[Fields]]


@dataclass(frozen=True)
class Rule:
    """One lint rule. `message` says what to do instead; `doc` follows ruff's headings."""

    code: str
    name: str
    message: str
    what: str
    why: str
    example: str
    instead: str
    references: tuple[str, ...]
    default: bool = True
    on: tuple[str, ...] = ("call",)
    apis: frozenset[str] = frozenset()
    match: Matcher | None = None
    triggers: frozenset[str] = frozenset()  # consult `match` only for these names (".attr")
    forward: bool = False
    needs_target: bool = False
    # (node, qualified name, Context) -> the fix for one finding, or None where this
    # spelling cannot be fixed mechanically; `fixable` says which kind the rule's fixes are
    fixer: Callable[[ast.AST, str | None, Any], Fix | None] | None = None
    fixable: str | None = None  # SAFE or UNSAFE
    fix_note: str = ""  # why the fix is safe or not, for the documentation

    @property
    def advisory(self) -> bool:
        """IC3xx rules are hints, not deviations."""
        return self.code.startswith("IC3")

    def hits(self, node: ast.AST, qual: str | None, ctx: Any) -> Iterator[Fields]:
        """The findings of this rule at one event (field values for the message)."""
        if qual is not None and qual in self.apis:
            yield {"api": qual}
            return
        if self.match is not None:
            yield from self.match(node, qual, ctx)

    def doc(self) -> str:
        """The rule's documentation, as `--explain` prints it."""
        refs = "\n".join(f"- {r}" for r in self.references)
        how = "`--fix`" if self.fixable == SAFE else "`--fix --unsafe-fixes`"
        fix = "No fix is available." if self.fixable is None else \
            f"The fix is {self.fixable}: applied by {how}. {self.fix_note}".rstrip()
        return (f"{self.code} {self.name}{'' if self.default else ' (off by default)'}\n\n"
                f"## What it does\n{self.what}\n\n## Why is this bad?\n{self.why}\n\n"
                f"## Example\n```python\n{self.example}\n```\n\n"
                f"## Use instead\n```python\n{self.instead}\n```\n\n"
                f"## Fix safety\n{fix}\n\n## References\n{refs}\n")


def display(node: ast.AST) -> str:
    """Source text of an expression, shortened for a message."""
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - display only
        return "?"
    return text if len(text) <= 60 else text[:57] + "..."


def compile_api(node: ast.AST, qual: str | None) -> str | None:
    """`torch.compile(m)`, `@torch.compile`, `@torch.compile(mode=...)`, and nn.Module's
    `model.compile(...)` (a `.compile` with no positional argument on something no import
    explains: `re.compile(p)` resolves to `re`, and takes a pattern)."""
    if qual == "torch.compile":
        return qual
    if isinstance(node, ast.Call) and qual is None and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "compile" and not node.args:
        return f"{display(node.func.value)}.compile() (torch.compile)"
    return None


# Shared by several families' documentation and fixes.
EXPORT_EXAMPLE = "torch.export.export(model, example_inputs)"

AOTI_EXAMPLE = "pkg = torch._inductor.aoti_compile_and_package(torch.export.export(model, (x,)))"

TORCHSCRIPT_SUPERSEDED = ("TorchScript is in maintenance mode; PyTorch 2.x deploys through "
                          "torch.export (AOTInductor on servers, ExecuTorch on devices) or "
                          "torch.compile.")


def torch_bound(ctx) -> bool:
    """Is `torch` the torch module here (a fix may then spell `torch.export.export`)?"""
    return ctx.qualname(ast.Name(id="torch")) == "torch"


def rename_attribute(node: ast.AST, new: str, ctx) -> Edit | None:
    """`torch.onnx.dynamo_export` -> `torch.onnx.export`: rename the call's last attribute,
    which keeps whatever the user imported (`torch`, `onnx`); None for a bare name."""
    fn = node.func if isinstance(node, ast.Call) else node
    if not isinstance(fn, ast.Attribute):
        return None
    src = ctx.source
    return src.replace(fn, f"{src.text(fn.value)}.{new}")
