"""PyTorch's 2.x inference recommendations as data: the rows, the targets, the technologies."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from pytest_inferencecheck.errors import InferenceCheckError

SOURCE = (
    'PyTorch 2.x Inference Recommendations (dev-discuss.pytorch.org, thread 2506); '
    "API names as of torch 2.13 / ExecuTorch 1.4"
)

#: Technology ids, in the order the table prefers them.
TECHNOLOGIES: tuple[str, ...] = ("executorch", "aoti-python", "aoti-cpp", "torch.compile", "eager")


@dataclass(frozen=True)
class Row:
    """One row of the recommendations table."""

    number: int
    platform: str
    use_case: str
    technology: str


TABLE: tuple[Row, ...] = (
    Row(1, "Mobile (iOS and Android)", "highly optimized inference", "executorch"),
    Row(2, "Embedded and other edge devices", "highly optimized inference", "executorch"),
    Row(3, "Server (x86, CUDA, aarch64) + Python deployment",
        "high throughput, highly optimized, no graph break", "aoti-python"),
    Row(4, "Server (x86, CUDA, aarch64) + Python deployment",
        "high throughput, highly optimized, with graph break", "torch.compile"),
    Row(5, "Server where AOTI is not supported + Python deployment",
        "high throughput, highly optimized", "torch.compile"),
    Row(6, "Server (x86, CUDA, aarch64), non-Python deployment",
        "high throughput, highly optimized, no graph break", "aoti-cpp"),
    Row(7, "Server (x86, CUDA, aarch64) + Python deployment",
        "a non-inductor backend has the best latency", "torch.compile"),
    Row(8, "Mac (M1/M2/M3)", "local development and inference", "eager"),
)


def row(number: int) -> Row:
    """Return the table row with this number."""
    return TABLE[number - 1]


Platform = Literal["phone", "edge", "server", "mac"]
Runtime = Literal["on-device", "python", "no-python", "local"]
Artifact = Literal["executorch", "aoti"]


@dataclass(frozen=True)
class Target:
    """A deployment target: where the model runs and how. Code asks its typed properties
    (`on_device`, `python_server`, `artifact`), never compares platform strings itself."""

    id: str
    platform: Platform
    runtime: Runtime
    device: str  # the device the artifact runs on: "cpu", "cuda", "aarch64", "mps"
    description: str

    @property
    def on_device(self) -> bool:
        """A phone or an edge device: the ExecuTorch runtime, the same portable kernels as here."""
        return self.platform in ("phone", "edge")

    @property
    def local_mac(self) -> bool:
        """Local development on a Mac: eager (row 8)."""
        return self.platform == "mac"

    @property
    def server(self) -> bool:
        """A server, with or without Python."""
        return self.platform == "server"

    @property
    def python_server(self) -> bool:
        """A server running Python: rows 3, 4, 5 and 7, where torch.compile is the fallback."""
        return self.server and self.runtime == "python"

    @property
    def cpp_server(self) -> bool:
        """A server without Python: row 6, the C++ runner."""
        return self.server and self.runtime == "no-python"

    @property
    def has_fallback(self) -> bool:
        """Whether the table offers another row when the model breaks or does not export:
        only a Python server does (rows 1, 2 and 6 have none; row 8 needs none)."""
        return self.python_server or self.local_mac

    @property
    def artifact(self) -> Artifact | None:
        """The artifact the recommended path builds for a clean model: a `.pte` on a device, an
        AOTI package on a server, none on a Mac."""
        return "executorch" if self.on_device else "aoti" if self.server else None


TARGETS: dict[str, Target] = {
    t.id: t
    for t in (
        Target("mobile-ios", "phone", "on-device", "cpu", "iOS phone, ExecuTorch runtime"),
        Target("mobile-android", "phone", "on-device", "cpu", "Android phone, ExecuTorch runtime"),
        Target("edge", "edge", "on-device", "cpu", "embedded or edge device, ExecuTorch runtime"),
        Target("server-x86-python", "server", "python", "cpu", "x86 server, Python process"),
        Target("server-cuda-python", "server", "python", "cuda", "CUDA server, Python process"),
        Target("server-aarch64-python", "server", "python", "aarch64",
               "aarch64 server, Python process"),
        Target("server-x86-cpp", "server", "no-python", "cpu", "x86 server, C++ process"),
        Target("server-cuda-cpp", "server", "no-python", "cuda", "CUDA server, C++ process"),
        Target("server-aarch64-cpp", "server", "no-python", "aarch64",
               "aarch64 server, C++ process"),
        Target("mac", "mac", "local", "mps", "Apple silicon Mac, local development"),
    )
}

ALIASES: dict[str, str] = {"embedded": "edge", "mac-mps": "mac"}


def _did_you_mean(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def resolve_target(name: object) -> Target:
    """Return the canonical target for an id or alias; raise a helpful error otherwise."""
    if isinstance(name, Target):
        return name
    if not isinstance(name, str):
        raise InferenceCheckError(
            f"target must be a string such as 'server-x86-python', got {type(name).__name__}"
        )
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in TARGETS:
        return TARGETS[key]
    valid = list(TARGETS) + list(ALIASES)
    raise InferenceCheckError(
        f"unknown deployment target {name!r}.{_did_you_mean(key, valid)} "
        f"Valid targets: {', '.join(TARGETS)} (aliases: "
        + ", ".join(f"{a} -> {c}" for a, c in ALIASES.items()) + ")"
    )


def resolve_technology(name: object) -> str:
    """Return a technology id unchanged if valid; raise a helpful error otherwise."""
    if isinstance(name, str) and name in TECHNOLOGIES:
        return name
    shown = name if isinstance(name, str) else type(name).__name__
    hint = _did_you_mean(shown, list(TECHNOLOGIES)) if isinstance(name, str) else ""
    raise InferenceCheckError(
        f"unknown technology {shown!r}.{hint} Valid technologies: {', '.join(TECHNOLOGIES)}"
    )
