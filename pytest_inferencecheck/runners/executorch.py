"""Rows 1-2: ExecuTorch: exported program -> `to_edge_transform_and_lower` -> `.pte` -> runtime."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import InferenceCheckError
from ..quiet import capture_fd, quiet_torch
from ..stages import Stages
from .base import Context, ProgramCall

INSTALL_HINT = "install it with `pip install 'pytest-inferencecheck[executorch]'`"


class ExecuTorchMissing(RuntimeError):
    """ExecuTorch is not installed: mobile and edge targets cannot be checked."""


@dataclass(frozen=True)
class Partitioner:
    """A partitioner known by name: where its class lives and which runtime backend runs it."""

    module: str
    cls: str
    backend: str


PARTITIONERS: dict[str, Partitioner] = {
    "xnnpack": Partitioner("executorch.backends.xnnpack.partition.xnnpack_partitioner",
                           "XnnpackPartitioner", "XnnpackBackend"),
    "coreml": Partitioner("executorch.backends.apple.coreml.partition", "CoreMLPartitioner",
                          "CoreMLBackend"),
    "mps": Partitioner("executorch.backends.apple.mps.partition", "MPSPartitioner", "MPSBackend"),
    "vulkan": Partitioner("executorch.backends.vulkan.partitioner.vulkan_partitioner",
                          "VulkanPartitioner", "VulkanBackend"),
    "qnn": Partitioner("executorch.backends.qualcomm.partition.qnn_partitioner",
                       "QnnPartitioner", "QnnBackend"),
}


def validate_partitioners(names: Any) -> list[str]:
    """Partitioner names, lower-cased and known; raise with the valid ones otherwise."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not names:
        raise InferenceCheckError(
            f"executorch_partitioners must be a non-empty list of names, got {names!r}; "
            f"valid: {', '.join(PARTITIONERS)}")
    out = []
    for name in names:
        key = str(name).lower()
        if key not in PARTITIONERS:
            raise InferenceCheckError(f"unknown ExecuTorch partitioner {name!r}; valid: "
                                      f"{', '.join(PARTITIONERS)}")
        out.append(key)
    return out


def _require_executorch() -> None:
    try:
        importlib.import_module("executorch.exir")
    except ImportError as exc:
        raise ExecuTorchMissing(f"ExecuTorch is not installed ({exc}): {INSTALL_HINT}") from None


def _partitioner(name: str) -> Any:
    spec = PARTITIONERS[name]
    try:
        return getattr(importlib.import_module(spec.module), spec.cls)()
    except Exception as exc:  # noqa: BLE001 - optional backends bring optional dependencies
        raise RuntimeError(f"the {name} partitioner cannot be created here: "
                           f"{type(exc).__name__}: {exc}") from None


def delegation_facts(graph_module: torch.fx.GraphModule) -> dict[str, Any]:
    """Delegated and non-delegated node counts and the operators left out, before to_executorch."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(graph_module)
    left_out = Counter({op: b.non_delegated for op, b in info.delegation_by_operator.items()
                        if b.non_delegated and op != "getitem"})
    delegated, non_delegated = info.num_delegated_nodes, info.num_non_delegated_nodes
    total = delegated + non_delegated
    return {"delegated_nodes": delegated, "non_delegated_nodes": non_delegated,
            "delegated_subgraphs": info.num_delegated_subgraphs,
            "delegation": round(delegated / total, 4) if total else 0.0,
            "ops_not_delegated": dict(sorted(left_out.items()))}


class ExecuTorchArtifact:
    """Calls like the model; runs the `.pte` with the ExecuTorch runtime."""

    def __init__(self, method: Any, program: torch.export.ExportedProgram) -> None:
        self.method, self.call = method, ProgramCall(program)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call.outputs(self.method.execute(self.call.flat_inputs(args, kwargs)))


class ExecuTorchRunner:
    """Lowers with the requested partitioners (XNNPACK by default) and runs where it can."""

    technology = "executorch"

    def build(self, ctx: Context, stages: Stages) -> Callable[..., Any] | None:
        """Lower, serialize and load the program; None when this runtime lacks a backend."""
        _require_executorch()
        from executorch.exir import to_edge_transform_and_lower
        from executorch.runtime import Runtime

        names = ctx.options.get("executorch_partitioners") or ["xnnpack"]
        facts: dict[str, Any] = {"partitioners": list(names)}
        ctx.artifacts["executorch"] = facts
        with stages.stage("lower") as st, quiet_torch():
            edge = to_edge_transform_and_lower(
                ctx.program, partitioner=[_partitioner(n) for n in names])
            facts.update(delegation_facts(edge.exported_program().graph_module))
            st.detail = (f"{', '.join(names)}: {facts['delegated_nodes']} of "
                         f"{facts['delegated_nodes'] + facts['non_delegated_nodes']} nodes delegated")
        with stages.stage("to_executorch") as st, quiet_torch():
            buffer = edge.to_executorch().buffer
            pte = ctx.workdir / "model.pte"
            pte.write_bytes(buffer)
            facts["pte_bytes"] = len(buffer)
            st.detail = f"{len(buffer)} bytes"
        with capture_fd():  # the runtime logs CPU probing to fd 2 on first use
            registry = Runtime.get().backend_registry
        facts["backends_available"] = {PARTITIONERS[n].backend:
                                       bool(registry.is_available(PARTITIONERS[n].backend))
                                       for n in names}
        missing = [b for b, ok in facts["backends_available"].items() if not ok]
        facts["executed"] = not missing
        if missing:
            stages.skip("et_load", f"lowered, not executed here: this ExecuTorch runtime lacks "
                                   f"{', '.join(missing)}")
            return None
        with stages.stage("et_load"), capture_fd() as err:
            try:
                method = Runtime.get().load_program(str(pte)).load_method("forward")
            except Exception as exc:
                raise RuntimeError(f"{exc}\nruntime log:\n{err.text.strip()[-2000:]}") from exc
        assert ctx.program is not None
        return ExecuTorchArtifact(method, ctx.program)
