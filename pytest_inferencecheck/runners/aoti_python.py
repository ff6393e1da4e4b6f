"""Row 3: AOTInductor from Python: exported program -> `.pt2` package -> `aoti_load_package`."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..keys import digest, environment
from ..quiet import quiet_torch
from ..store import LAYOUT, Entry
from .base import Built, ProgramCall, Stored, obtain_in_stage

if TYPE_CHECKING:
    from ..facts import Facts
    from ..job import Job

PACKAGE = "model.pt2"


def _compiler() -> str:
    from ..cpp_build import BuildError, compiler_identity

    try:
        return compiler_identity()
    except BuildError:
        return "no compiler"  # the compile fails and says so; the key only has to differ


def stored_package(job: Job, facts: Facts) -> Stored:
    """The `.pt2` of this program on this device, shared by the Python and C++ paths."""
    key = digest("aoti", LAYOUT, facts.program_key, job.device, environment(), _compiler())
    return Stored("aoti", key, ("aoti_compile",))


def compile_into(program: torch.export.ExportedProgram, folder: Path, device: str
                 ) -> dict[str, Any]:
    """AOT-compile a program into `folder` (a store entry being built)."""
    with quiet_torch():
        torch._inductor.aoti_compile_and_package(program, package_path=str(folder / PACKAGE))
    gc.collect()  # inductor's graphs are cyclic: free its copies of the weights before loading
    return {"call": ProgramCall(program).to_meta(), "device": device}


def obtain_package(job: Job, facts: Facts) -> Entry:
    """AOT-compile the exported program into the store once; every later use reuses it."""
    from ..facts import program_for

    def build(folder: Path) -> dict[str, Any]:
        from ..prewarm import settle_cpu_probe

        from ..host import require_compiler

        require_compiler()  # a host without one is the host's fault, never row 5
        program = program_for(job, facts, "the AOTInductor package")
        settle_cpu_probe()
        return compile_into(program, folder, job.device)

    return obtain_in_stage(job, "aoti_compile", "aoti", stored_package(job, facts).key, build,
                           size_hint=2 * facts.weight_bytes)


def program_call(job: Job, facts: Facts, entry: Entry) -> ProgramCall:
    """The calling convention stored with an artifact, or the program's own."""
    from ..facts import program_for

    call = ProgramCall.from_meta(entry.meta.get("call"))
    return call or ProgramCall(program_for(job, facts, "the calling convention"))


class AOTIPythonRunner:
    """Compiles with `aoti_compile_and_package` and loads with `aoti_load_package`."""

    technology = "aoti-python"

    def stored(self, job: Job, facts: Facts) -> Stored:
        """The shared `.pt2`."""
        return stored_package(job, facts)

    def run_parts(self, job: Job) -> tuple[Any, ...]:
        """Nothing besides the package and the inputs."""
        return ()

    def build(self, job: Job, facts: Facts) -> Built:
        """Return the loaded package, called like the model."""
        entry = obtain_package(job, facts)
        with job.stages.stage("aoti_load"), quiet_torch():
            return Built(torch._inductor.aoti_load_package(str(entry.file(PACKAGE))))
