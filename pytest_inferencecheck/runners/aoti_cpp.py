"""Row 6: AOTInductor from C++: the same `.pt2`, run by a small C++ program with no Python."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..cpp_build import ensure_runner
from ..stages import Stages
from .aoti_python import compile_package
from .base import Context, ProgramCall

LATENCY_REPEAT = 20
_MEDIAN = re.compile(r"median_ms=([0-9.eE+-]+)")


class CppRunnerError(RuntimeError):
    """The runner process failed: crashed, exited non-zero, or hung."""


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class CppArtifact:
    """Calls like the model; each call runs the package in a fresh C++ process."""

    def __init__(self, binary: Path, package: Path, program: torch.export.ExportedProgram,
                 workdir: Path, timeout_s: float) -> None:
        self.binary, self.package, self.workdir, self.timeout_s = binary, package, workdir, timeout_s
        self.call = ProgramCall(program)
        self.median_ms: float | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        inputs, outputs = self.workdir / "cpp_inputs.pt", self.workdir / "cpp_outputs.pt"
        torch.save([x.detach().contiguous() for x in self.call.flat_inputs(args, kwargs)], inputs)
        outputs.unlink(missing_ok=True)
        # Latency is measured once, at the example shape; later calls (a second shape) only run.
        repeat = LATENCY_REPEAT if self.median_ms is None else 0
        cmd = [str(self.binary), str(self.package), str(inputs), str(outputs), str(repeat)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout_s,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise CppRunnerError(
                f"the C++ runner did not finish within {self.timeout_s:g}s and was killed; "
                f"stderr: {(exc.stderr or b'')[-2000:]!r}") from None
        if proc.returncode != 0:
            raise CppRunnerError(f"the C++ runner {_exit_reason(proc.returncode)}; stderr:\n"
                                 f"{proc.stderr.strip()[-4000:] or '<empty>'}")
        m = _MEDIAN.search(proc.stdout)
        if m:
            self.median_ms = float(m.group(1))
        return self.call.outputs(torch.load(outputs, weights_only=True))

    def measure_latency_ms(self) -> float | None:
        """The median latency the runner measured in its own process (no spawn, no load)."""
        return self.median_ms


class AOTICppRunner:
    """Shares the `.pt2` with the Python path; builds the runner once per torch and compiler."""

    technology = "aoti-cpp"
    timeout_s = 300.0

    def build(self, ctx: Context, stages: Stages) -> Callable[..., Any]:
        """Compile the package (once), make sure the runner binary exists, return the artifact."""
        package = compile_package(ctx, stages)
        with stages.stage("runner_build") as st:
            runner = ensure_runner()
            st.detail = ("rebuilt: the cached binary was corrupt" if runner.rebuilt_corrupt
                         else "built" if runner.built else "cached") + f" {runner.path}"
        assert ctx.program is not None
        return CppArtifact(runner.path, package, ctx.program, ctx.workdir,
                           float(ctx.options.get("cpp_timeout_s", self.timeout_s)))
