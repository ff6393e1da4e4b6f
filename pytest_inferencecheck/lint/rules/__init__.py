"""The lint rules, one family per module as ruff keeps them: each rule's code, message,
documentation and matcher side by side, its fields named (`base.Rule`).

A rule matches one kind of event the walker sees (a `call`, a bare `decorator`, an `import`, a
`branch`). Rules that match qualified names list them in `apis` and the walker indexes them; the
others bring a `match` function. `forward` rules see only code that `forward` reaches, outside
`if not torch.compiler.is_compiling():` guards; `needs_target` rules only files that config maps
to a deployment target.

IC1xx, superseded entry points: `torchscript`, `aoti_entry_points`, `pytorch_mobile`,
`onnx_exporters`, `export_entry_points`, `functorch_apis`. IC2xx: `deviations` (another row's
technology on a mapped path). IC3xx: `forward` (graph-break hints). IC9xx: `directives`."""

from __future__ import annotations

from pytest_inferencecheck.lint.rules import (
    aoti_entry_points,
    deviations,
    directives,
    export_entry_points,
    forward,
    functorch_apis,
    onnx_exporters,
    pytorch_mobile,
    torchscript,
)
from pytest_inferencecheck.lint.rules.base import Rule

FAMILIES = (torchscript, aoti_entry_points, pytorch_mobile, onnx_exporters, export_entry_points,
            functorch_apis, deviations, forward, directives)
RULES: tuple[Rule, ...] = tuple(sorted((r for f in FAMILIES for r in f.RULES),
                                       key=lambda r: r.code))
BY_CODE = {r.code: r for r in RULES}

__all__ = ["BY_CODE", "FAMILIES", "RULES", "Rule"]
