"""The facts of a model on its example inputs: the eager reference, its graph breaks, its export.

Measured afresh on every check and never taken from the store. What a trace finds depends on
everything the trace reads: code reached only under tracing, globals and object attributes,
environment variables, torch's configs, patched functions. No key short of the trace itself
names all of that, so the trace is not skipped. Torch does the same: it retraces with Dynamo on
every compile and caches only what comes after the trace. What comes after the trace here (the
`.pt2`, the `.pte`, a recorded run) is keyed by the program this check's own export produced
(`program_key`), so it can only be reused by a check that traced to the very same program.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch

from pytest_inferencecheck.checking.job import Job
from pytest_inferencecheck.errors import CheckFailed, Uncacheable
from pytest_inferencecheck.measure.export import export_model
from pytest_inferencecheck.measure.graph_breaks import find_graph_breaks
from pytest_inferencecheck.measure.numerics import compare, leaves, non_finite
from pytest_inferencecheck.result import ExportFacts, Failure, GraphBreak
from pytest_inferencecheck.store.keys import digest, foreign_ops, ops_fingerprint, program_key
from pytest_inferencecheck.support import compat
from pytest_inferencecheck.support.wording import plural


@dataclass
class Facts:
    """What was measured about the model in this check, and the program its export produced."""

    reference: Any
    graph_breaks: list[GraphBreak]
    graphs: int
    export: ExportFacts
    program: torch.export.ExportedProgram | None = None
    program_key: str | None = None  # None: export failed, or the program cannot be keyed
    unkeyable: str | None = None  # why a program that exported cannot be keyed
    foreign_ops: tuple[str, ...] = ()  # operators the program calls that are not torch's own
    weight_bytes: int = 0  # of the exported program's weights and constants

    def require_program(self) -> torch.export.ExportedProgram:
        """The exported program; only paths that need one ask, after export succeeded."""
        if self.program is None:
            raise RuntimeError("no exported program: export must succeed before building an "
                               "artifact")
        return self.program


def weight_bytes(program: torch.export.ExportedProgram) -> int:
    """Bytes of the weights and constants an exported program holds."""
    return sum(t.numel() * t.element_size() for t in
               [*program.state_dict.values(), *program.constants.values()]
               if isinstance(t, torch.Tensor))


def _snapshot(outputs: Any) -> Any:
    """A copy of the outputs that the model's next call cannot change. A tensor torch cannot
    deep-copy (a sparse CSR tensor has no storage) is cloned instead."""
    try:
        return copy.deepcopy(outputs)
    except (NotImplementedError, RuntimeError):
        return compat.pytree().tree_map(
            lambda v: v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v), outputs)


def eager_reference(job: Job) -> Any:
    """Run the model twice in plain PyTorch: the reference every artifact is compared with."""
    with job.stages.stage("eager") as st, torch.no_grad():
        first = _snapshot(job.call())  # outputs may alias state
        second = job.call()
        st.detail = "ran twice"
    flat = leaves(first)
    if not any(isinstance(v, torch.Tensor) for _, v in flat):
        kinds = sorted({type(v).__name__ for _, v in flat}) or ["None"]
        raise CheckFailed(Failure(
            "eager", f"the model's outputs hold no tensor (got {', '.join(kinds)}): "
                     "there is nothing to compare an artifact with",
            "return the tensors the deployed model produces (a tensor, tuple, dict or "
            "dataclass)"))
    bad = non_finite(flat)
    if bad:
        raise CheckFailed(Failure(
            "eager", f"eager outputs hold NaN or infinity at {', '.join(bad[:5])}",
            "fix the model or its example inputs (weight init, division by zero, log of "
            "zero) so that eager outputs are finite; a comparison with NaN proves nothing"))
    stable = compare(second, first, atol=job.opts.atol, rtol=job.opts.rtol)
    if not stable.ok:
        m = stable.mismatches[0]
        raise CheckFailed(Failure(
            "eager", f"two eager runs on the same inputs differ at {m.path}: {m.message}",
            "remove randomness from forward (dropout outside eval mode, torch.rand, "
            "non-deterministic ops) so the eager reference is stable"))
    del second
    return first


def gather(job: Job) -> Facts:
    """The eager reference, then the graph breaks (Dynamo) and the export, all measured now."""
    reference = eager_reference(job)
    with job.stages.stage("graph_breaks") as st:
        breaks, graphs = find_graph_breaks(job.model, job.args, job.kwargs)
        st.detail = f"{plural(len(breaks), 'break')}, {plural(graphs, 'graph')}"
    start = time.perf_counter()
    exported = export_model(job.model, job.args, job.kwargs,
                            dynamic_shapes=job.opts.dynamic_shapes, strict=job.opts.strict_export)
    seconds = time.perf_counter() - start
    facts = Facts(reference, breaks, graphs, exported.facts, exported.program)
    if exported.program is None:  # a fact, not a crash: whether it fails the check depends on the row
        issues = exported.facts.issues
        job.stages.fail("export", seconds, f"{len(issues)} issue(s): {issues[0].message}")
        return facts
    job.stages.record("export", seconds, "strict" if job.opts.strict_export else "")
    facts.weight_bytes = weight_bytes(exported.program)
    facts.foreign_ops = tuple(foreign_ops(exported.program))
    try:
        facts.program_key = digest("program", program_key(exported.program),
                                   ops_fingerprint(exported.program))
    except Uncacheable as exc:
        facts.unkeyable = str(exc)
        job.notes.append(f"nothing built from this program is kept or reused: {exc}")
    return facts
