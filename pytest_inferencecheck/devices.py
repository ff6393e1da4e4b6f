"""Which target devices this host has, and how a missing one is checked (a host proxy)."""

from __future__ import annotations

import platform

import torch

from .table import Target


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
    if target.platform in {"phone", "edge"}:
        return None  # ExecuTorch targets run the same portable runtime and kernels on the host
    if host_has(target.device):
        return None
    return (f"no {target.device} device on this host ({platform.machine()}): "
            f"checked on the host CPU as a proxy")


def run_device(target: Target) -> str:
    """The torch device the artifact runs on for this target, here."""
    return "cuda" if target.device == "cuda" and host_has("cuda") else "cpu"
