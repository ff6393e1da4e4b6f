"""Which target devices this host has, and how a missing one is checked (a host proxy)."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from pytest_inferencecheck.recommendations.table import Target


def host_has(device: str) -> bool:
    """True if this host can run a target's device natively."""
    if device == "cpu":
        return platform.machine().lower() in {"x86_64", "amd64", "i686"}
    if device == "cuda":
        return torch.cuda.is_available()
    if device == "aarch64":
        return platform.machine().lower() in {"aarch64", "arm64"}
    if device == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return False


def proxy_for(target: Target) -> str | None:
    """None when the target's device is here; otherwise what the host stands in with."""
    if target.on_device:
        return None  # ExecuTorch targets run the same portable runtime and kernels on the host
    if host_has(target.device):
        return None
    return (f"no {target.device} device on this host ({platform.machine()}): "
            f"checked on the host CPU as a proxy")


def run_device(target: Target) -> str:
    """The torch device the artifact runs on for this target, here."""
    return "cuda" if target.device == "cuda" and host_has("cuda") else "cpu"


def identity(device: str) -> tuple[Any, ...]:
    """The device an artifact is compiled for and runs on, as a key: for a CPU its architecture,
    features and the ISA ATen dispatches to; for a GPU its model, compute capability, driver
    and CUDA runtime (a `.pt2` holds kernels for one architecture)."""
    if device.startswith("cuda"):
        return cuda_identity(torch.cuda.current_device())
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    return ("cpu", *_cpu_features(), capability() if capability else None)


def cuda_identity(index: int) -> tuple[Any, ...]:
    """One GPU: name, compute capability, driver version, CUDA (or HIP) runtime version."""
    return ("cuda", torch.cuda.get_device_name(index),
            tuple(torch.cuda.get_device_capability(index)), _driver_version(index),
            torch.version.cuda or getattr(torch.version, "hip", None))


@functools.cache
def _driver_version(index: int) -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader",
                              f"--id={index}"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.cache
def _cpu_features() -> tuple[str, ...]:
    """Operating system, architecture, and a digest of the CPU's model and feature flags."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith(("flags", "Features", "model name")):
                    flags += line
                if line.strip() == "":
                    break  # the first CPU describes them all
    except OSError:
        flags = platform.processor()
    return (platform.system(), platform.machine(), hashlib.sha256(flags.encode()).hexdigest()[:16])


def where_measured(device: str) -> str:
    """The machine a figure was measured on, in words: host name and its CPU (or GPU) model.
    Said with a replayed latency; never part of a key."""
    if device.startswith("cuda"):
        what = torch.cuda.get_device_name(torch.cuda.current_device())
    else:
        what = _cpu_model() or platform.machine()
    return f"{platform.node() or 'this host'} ({what})"


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
