"""Row 3: AOTInductor from Python: exported program -> `.pt2` package -> `aoti_load_package`."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from pytest_inferencecheck.checking.runners.base import Built, ProgramCall, Stored, obtain_in_stage
from pytest_inferencecheck.host.devices import identity
from pytest_inferencecheck.host.faults import require_compiler
from pytest_inferencecheck.host.prewarm import settle_cpu_probe
from pytest_inferencecheck.host.toolchain import inductor_compiler_identity
from pytest_inferencecheck.store.artifacts import Entry
from pytest_inferencecheck.store.keys import runtime_state, versions
from pytest_inferencecheck.support import compat
from pytest_inferencecheck.support.quiet import quiet_torch

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.facts import Facts
    from pytest_inferencecheck.checking.job import Job

PACKAGE = "model.pt2"


def stored_package(job: Job, facts: Facts) -> Stored:
    """The `.pt2` of this program on this device, shared by the Python and C++ paths. Keyed by
    the program, the device it is compiled for, the compiler inductor really uses, and the
    versions, environment and configs that steer inductor (`keys.runtime_state`)."""
    return Stored.keyed("aoti", ("aoti_compile",), facts, lambda: package_parts(job.device))


def package_parts(device: str) -> tuple[Any, ...]:
    """What decides a `.pt2` besides its program, in this process."""

    return identity(device), versions(), runtime_state(), inductor_compiler_identity()


def _aoti() -> compat.Aoti:
    found = compat.aoti()
    if found is None:
        raise RuntimeError(f"this torch ({torch.__version__}) has no AOTInductor packaging API "
                           "(`torch._inductor.aoti_compile_and_package`, torch 2.6+): upgrade torch")
    return found


def compile_into(program: torch.export.ExportedProgram, folder: Path, device: str
                 ) -> dict[str, Any]:
    """AOT-compile a program into `folder` (a store entry being built)."""
    with quiet_torch(), compat.own_inductor_cache():
        _aoti().compile_and_package(program, package_path=str(folder / PACKAGE))
    gc.collect()  # inductor's graphs are cyclic: free its copies of the weights before loading
    return {"call": ProgramCall(program).to_meta(), "device": device}


def obtain_package(job: Job, facts: Facts) -> Entry:
    """AOT-compile the exported program into the store once; every later use reuses it."""

    def build(folder: Path) -> dict[str, Any]:
        require_compiler()  # a host without one is the host's fault, never row 5
        settle_cpu_probe()
        return compile_into(facts.require_program(), folder, job.device)

    return obtain_in_stage(job, "aoti_compile", stored_package(job, facts), build,
                           size_hint=2 * facts.weight_bytes)


def program_call(facts: Facts, entry: Entry) -> ProgramCall:
    """The calling convention stored with an artifact, or the program's own."""
    return ProgramCall.from_meta(entry.meta.get("call")) or ProgramCall(facts.require_program())


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
            return Built(_aoti().load_package(str(entry.file(PACKAGE))), entry=entry)
