"""ExecuTorch partitioners known by name: where each class lives and which runtime backend
runs it. The vocabulary only: no torch, no ExecuTorch import (options validate with it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_inferencecheck.errors import InferenceCheckError


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
