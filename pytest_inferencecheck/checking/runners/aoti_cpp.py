"""Row 6: AOTInductor from C++: the same `.pt2`, run by a small C++ program with no Python."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_inferencecheck.checking.runners import tensor_file
from pytest_inferencecheck.checking.runners.aoti_python import (
    PACKAGE,
    obtain_package,
    program_call,
    stored_package,
)
from pytest_inferencecheck.checking.runners.base import Built, ProgramCall, Stored, reuse_detail
from pytest_inferencecheck.errors import BuildError, CppRunnerError
from pytest_inferencecheck.host import hold
from pytest_inferencecheck.host.cpp_build import build_key, ensure_runner, find_compiler
from pytest_inferencecheck.support.timing import CpuWatch

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.facts import Facts
    from pytest_inferencecheck.checking.job import Job

LATENCY_REPEAT = 20
_MEDIAN = re.compile(r"median_ms=([0-9.eE+-]+)")


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class CppArtifact:
    """Calls like the model; each call runs the package in a fresh C++ process."""

    def __init__(self, binary: Path, package: Path, call: ProgramCall, workdir: Path,
                 timeout_s: float) -> None:
        self.binary, self.package, self.workdir, self.timeout_s = binary, package, workdir, timeout_s
        self.call = call
        self.median_ms: float | None = None
        self.latency_load: float | None = None  # other processes' CPU while it was timed

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        inputs, outputs = self.workdir / "cpp_inputs.bin", self.workdir / "cpp_outputs.bin"
        tensor_file.write(inputs, self.call.flat_inputs(args, kwargs))
        outputs.unlink(missing_ok=True)
        # Latency is measured once, at the example shape; later calls (a second shape) only run.
        repeat = LATENCY_REPEAT if self.median_ms is None else 0
        cmd = [str(self.binary), str(self.package), str(inputs), str(outputs), str(repeat)]
        try:  # a timed run is quiet: none of our own background builds run meanwhile
            with hold.held() if repeat else contextlib.nullcontext(), CpuWatch() as watch:
                proc = subprocess.run(cmd, capture_output=True, text=True,
                                      timeout=self.timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise CppRunnerError(
                f"the C++ runner did not finish within {self.timeout_s:g}s and was killed; "
                f"stderr: {(exc.stderr or b'')[-2000:]!r}") from None
        finally:
            inputs.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise CppRunnerError(f"the C++ runner {_exit_reason(proc.returncode)}; stderr:\n"
                                 f"{proc.stderr.strip()[-4000:] or '<empty>'}")
        m = _MEDIAN.search(proc.stdout)
        if m:
            self.median_ms, self.latency_load = float(m.group(1)), watch.load
        result = self.call.outputs(tensor_file.read(outputs))
        outputs.unlink(missing_ok=True)
        return result

    def measure_latency_ms(self) -> float | None:
        """The median latency the runner measured in its own process (no spawn, no load)."""
        return self.median_ms


class AOTICppRunner:
    """Shares the `.pt2` with the Python path; builds the runner once per torch and compiler."""

    technology = "aoti-cpp"

    def stored(self, job: Job, facts: Facts) -> Stored:
        """The shared `.pt2`."""
        return stored_package(job, facts)

    def run_parts(self, job: Job) -> tuple[Any, ...]:
        """The runner binary's identity and the time it is given."""
        try:
            runner = build_key(find_compiler())
        except BuildError:
            runner = "no compiler"  # the runner_build stage fails and says so
        return runner, job.opts.cpp_timeout_s

    def build(self, job: Job, facts: Facts) -> Built:
        """Compile the package (once), make sure the runner binary exists, return the artifact."""
        entry = obtain_package(job, facts)
        with job.stages.stage("runner_build") as st:
            runner = ensure_runner(job.store)
            st.detail = f"{reuse_detail(job.used(runner.use))} {runner.path}"
        artifact = CppArtifact(runner.path, entry.file(PACKAGE), program_call(facts, entry),
                               job.workdir, job.opts.cpp_timeout_s)
        return Built(artifact, latency_ms=artifact.measure_latency_ms, entry=entry)
