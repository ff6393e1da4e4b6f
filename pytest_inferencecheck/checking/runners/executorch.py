"""Rows 1-2: ExecuTorch: exported program -> `to_edge_transform_and_lower` -> `.pte` -> runtime."""

from __future__ import annotations

import gc
import importlib
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from pytest_inferencecheck.checking.runners.aoti_python import program_call
from pytest_inferencecheck.checking.runners.base import (
    Built,
    ProgramCall,
    Stored,
    obtain,
    reuse_detail,
)
from pytest_inferencecheck.checking.stages import Stages
from pytest_inferencecheck.config.options import CheckOptions
from pytest_inferencecheck.errors import (  # noqa: F401 - ExecuTorchMissing re-exported
    ExecuTorchMissing,
    HostFault,
    InternalError,
)
from pytest_inferencecheck.host.faults import fault_of
from pytest_inferencecheck.measure.executorch import (
    locate_operators,
    lowering_failure,
    missing_operators,
    plan_operators,
    runtime_failure,
)
from pytest_inferencecheck.recommendations.partitioners import (  # noqa: F401 - re-exported
    PARTITIONERS,
    Partitioner,
    validate_partitioners,
)
from pytest_inferencecheck.result import Failure
from pytest_inferencecheck.store.keys import runtime_state, versions
from pytest_inferencecheck.support import compat
from pytest_inferencecheck.support.quiet import capture_stderr, quiet_imports, quiet_torch

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.facts import Facts
    from pytest_inferencecheck.checking.job import Job
    from pytest_inferencecheck.store.artifacts import Entry

PTE = "model.pte"

INSTALL_HINT = "install it with `pip install 'pytest-inferencecheck[executorch]'`"


def _require_executorch() -> None:
    """Import ExecuTorch (its runtime too) once, without its import-time deprecations and log
    lines (they are about its own code, and came 17 to a run)."""
    try:
        with quiet_imports("torchao", "executorch"):
            for name in ("executorch.exir", "executorch.runtime",
                         "executorch.devtools.backend_debug"):
                importlib.import_module(name)
    except ImportError as exc:
        raise ExecuTorchMissing(f"ExecuTorch is not installed ({exc}): {INSTALL_HINT}") from None
    compat.executorch_flatc()


def _partitioner(name: str) -> Any:
    """The partitioner named: a backend that is not installed here is the host's fault (with
    what to do); one that exists but will not construct is ours."""
    spec = PARTITIONERS[name]
    try:
        with quiet_imports("torchao", "executorch"):
            cls = getattr(importlib.import_module(spec.module), spec.cls)
    except Exception as exc:  # noqa: BLE001 - a backend's import runs its own setup (ExecuTorch
        # 1.1's QNN downloads an SDK and raises RuntimeError offline): all of it is the host's
        raise HostFault(
            f"the {name} partitioner cannot be created here: {type(exc).__name__}: {exc}",
            f"install the {name} backend of ExecuTorch and what it needs, or check with another "
            "partitioner (executorch_partitioners=[...], e.g. xnnpack); the model is not at "
            "fault") from None
    try:
        return cls()
    except TypeError as exc:  # it needs settings we do not pass (QNN's compiler specs, say)
        raise HostFault(
            f"the {name} partitioner cannot be created here: {type(exc).__name__}: {exc}",
            f"the {name} partitioner needs settings pytest-inferencecheck does not pass yet; "
            "check with another partitioner (executorch_partitioners=[...], e.g. xnnpack); "
            "the model is not at fault") from None
    except Exception as exc:
        raise InternalError(f"{spec.cls}() could not be created: {type(exc).__name__}: "
                            f"{exc}") from exc


def delegation_facts(graph_module: torch.fx.GraphModule) -> dict[str, Any]:
    """Delegated and non-delegated node counts and the operators left out, before to_executorch."""
    from executorch.devtools.backend_debug import get_delegation_info  # noqa: PLC0415 - defers ExecuTorch (optional)

    info = get_delegation_info(graph_module)
    left_out = Counter({op: b.non_delegated for op, b in info.delegation_by_operator.items()
                        if b.non_delegated and op != "getitem"})
    delegated, non_delegated = info.num_delegated_nodes, info.num_non_delegated_nodes
    total = delegated + non_delegated
    return {"delegated_nodes": delegated, "non_delegated_nodes": non_delegated,
            "delegated_subgraphs": info.num_delegated_subgraphs,
            "delegation": round(delegated / total, 4) if total else 0.0,
            "ops_not_delegated": dict(sorted(left_out.items()))}


def executorch_facts(entry: Entry, facts: Facts) -> dict[str, Any]:
    """A stored `.pte`'s facts for this check: its operators located in this check's own code
    (the entry names the exported program's nodes, not anyone's files)."""
    et = dict(entry.meta["executorch"])
    et["operators"] = locate_operators(et.get("operators", []), facts.program)
    return et


class ExecuTorchArtifact:
    """Calls like the model; runs the `.pte` with the ExecuTorch runtime. A failed run is
    named from the runtime's own log of it: the first calls (the checked runs) capture it;
    the latency loop's calls do not pay for that."""

    CAPTURED_CALLS = 2

    def __init__(self, method: Any, call: ProgramCall, et: dict[str, Any]) -> None:
        self.method, self.call, self.et = method, call, et
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        inputs = self.call.flat_inputs(args, kwargs)
        self.calls += 1
        if self.calls > self.CAPTURED_CALLS:
            return self.call.outputs(self.method.execute(inputs))
        with capture_stderr() as log:
            try:
                flat = self.method.execute(inputs)
            except Exception as exc:  # noqa: BLE001 - the runtime's error, named from its log
                failed = exc
            else:
                failed = None
        if failed is not None:
            raise runtime_failure(failed, log.text, "running", self.et,
                                  self.et.get("operators", [])) from failed
        return self.call.outputs(flat)


def not_executed_reason(facts: dict[str, Any]) -> str | None:
    """Why a lowered program was not run here (its backend is missing from this runtime)."""
    missing = [b for b, ok in facts.get("backends_available", {}).items() if not ok]
    if not missing:
        return None
    return (f"lowered with {', '.join(facts['partitioners'])} ({facts['delegation']:.0%} of nodes "
            f"delegated), not executed here: this ExecuTorch runtime lacks {', '.join(missing)}")


def gates(facts: dict[str, Any], opts: CheckOptions) -> list[Failure]:
    """The delegation and size limits a check asked for, applied to the lowering facts."""
    failures = []
    app = opts.executorch_operators
    missing = missing_operators(facts.get("operators", []), app) if app is not None else None
    if missing is not None:
        failures.append(missing)
    left_out = ", ".join(f"{op} x{n}" for op, n in facts.get("ops_not_delegated", {}).items())
    if opts.min_delegation is not None and facts.get("delegation", 1.0) < opts.min_delegation:
        failures.append(Failure(
            "delegation", f"{facts['delegation']:.1%} of nodes delegated to "
                          f"{', '.join(facts['partitioners'])}, below min_delegation="
                          f"{opts.min_delegation:g}; left to the portable runtime: "
                          f"{left_out or 'none'}",
            "replace the operators left out with ones the backend supports, or add a "
            "partitioner that takes them"))
    if opts.max_pte_bytes is not None and facts.get("pte_bytes", 0) > opts.max_pte_bytes:
        failures.append(Failure(
            "pte_size", f".pte is {facts['pte_bytes']} bytes, over max_pte_bytes="
                        f"{opts.max_pte_bytes}",
            "quantize the model (torchao / XNNPACK quantizer) or shrink it"))
    return failures


PTE_META = "pte-meta/2"  # what a stored .pte's entry says of it (2: its operators)


def pte_parts(partitioners: Any) -> tuple[Any, ...]:
    """What decides a `.pte` (and what its entry records) besides its program, in this process."""
    return PTE_META, tuple(partitioners), versions(), runtime_state()


class ExecuTorchRunner:
    """Lowers with the requested partitioners (XNNPACK by default) and runs where it can."""

    technology = "executorch"

    def stored(self, job: Job, facts: Facts) -> Stored:
        """The `.pte` of this program with these partitioners, ExecuTorch, torch, and the
        environment and configs of this process."""
        return Stored.keyed("executorch", ("lower", "to_executorch"), facts,
                            lambda: pte_parts(job.opts.executorch_partitioners))

    def run_parts(self, job: Job) -> tuple[Any, ...]:
        """Nothing besides the program and the inputs."""
        return ()

    def build(self, job: Job, facts: Facts) -> Built:
        """Lower and serialize the program once (into the store); load it where it can run."""
        _require_executorch()
        names = list(job.opts.executorch_partitioners)
        stored = self.stored(job, facts)
        start = time.perf_counter()
        got = obtain(job, stored, lambda folder: lower_into(
            facts.require_program(), names, folder, job.stages), size_hint=2 * facts.weight_bytes)
        entry = got.entry
        if not got.built_here and got.use is not None:  # stored, or built ahead by a helper
            waited = time.perf_counter() - start
            for stage in stored.build_stages:
                job.stages.record(stage, waited, reuse_detail(got.use))
                waited = 0.0
        et = executorch_facts(entry, facts)
        reason = not_executed_reason(et)
        et["executed"] = reason is None
        if reason:
            job.stages.skip("et_load", reason.split(", not executed here: ")[-1])
            return Built(None, executorch=et, skip_reason=reason)
        from executorch.runtime import Runtime  # noqa: PLC0415 - defers ExecuTorch (optional)

        with job.stages.stage("et_load"):
            with capture_stderr() as log:
                try:
                    method = Runtime.get().load_program(str(entry.file(PTE))).load_method(
                        "forward")
                except Exception as exc:  # noqa: BLE001 - the runtime's error, named from its log
                    failed: Exception | None = exc
                else:
                    failed = None
            if failed is not None:
                raise runtime_failure(failed, log.text, "loading", et,
                                      et["operators"]) from failed
        return Built(ExecuTorchArtifact(method, program_call(facts, entry), et), executorch=et,
                     entry=entry)


def lower_into(program: torch.export.ExportedProgram, names: list[str], folder: Path,
               stages: Stages) -> dict[str, Any]:
    """Lower, serialize into `folder`, and note what was delegated and which backends this
    runtime has."""
    _require_executorch()  # first: imported quietly
    from executorch.exir import to_edge_transform_and_lower  # noqa: PLC0415 - defers ExecuTorch (optional)
    from executorch.runtime import Runtime  # noqa: PLC0415 - defers ExecuTorch (optional)

    et: dict[str, Any] = {"partitioners": names}
    with stages.stage("lower") as st, quiet_torch():
        partitioners = [_partitioner(n) for n in names]
        try:
            edge = to_edge_transform_and_lower(program, partitioner=partitioners)
        except Exception as exc:
            # a host fault (no space, no memory) stays one; the rest is named by the frame
            explained = None if fault_of(exc) else lowering_failure(exc, "lower", names, program)
            if explained is None:
                raise
            raise explained from exc
        et.update(delegation_facts(edge.exported_program().graph_module))
        st.detail = (f"{', '.join(names)}: {et['delegated_nodes']} of "
                     f"{et['delegated_nodes'] + et['non_delegated_nodes']} nodes delegated")
    with stages.stage("to_executorch") as st, quiet_torch():
        try:
            program_manager = edge.to_executorch()
        except Exception as exc:
            # a host fault (no space, no memory) stays one; the rest is named by the frame
            explained = None if fault_of(exc) else lowering_failure(exc, "to_executorch", names, program)
            if explained is None:
                raise
            raise explained from exc
        del edge  # the edge program holds its own copy of the weights
        et["operators"] = plan_operators(program_manager)
        with open(folder / PTE, "wb") as handle:
            program_manager.write_to_file(handle)
        del program_manager
        gc.collect()  # FX graphs are cyclic: their weights go only when the collector runs
        et["pte_bytes"] = (folder / PTE).stat().st_size
        st.detail = f"{et['pte_bytes']} bytes"
    with capture_stderr():  # the runtime logs CPU probing on first use
        registry = Runtime.get().backend_registry
    et["backends_available"] = {PARTITIONERS[n].backend:
                                bool(registry.is_available(PARTITIONERS[n].backend))
                                for n in names}
    return {"executorch": et, "call": ProgramCall(program).to_meta()}
