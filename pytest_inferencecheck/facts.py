"""The facts of a model on its example inputs: the eager reference, its graph breaks, its export.

The eager reference is measured on every check. Graph breaks and export are measured once per
(model, inputs, options) and kept in the store; a later check reuses them while the model's
weights and attributes, the inputs, the options and every source file its forward ran are
unchanged (`sources`). The exported program itself stays in this process for the next item of
the same model, so several targets share one export.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from typing import Any

import torch

from .export import export_model
from .graph_breaks import find_graph_breaks
from .job import Job
from .keys import Uncacheable, digest, environment, model_fingerprint, program_key, \
    value_fingerprint
from .outputs import compare, leaves, non_finite
from .result import ExportFacts, Failure, GraphBreak
from .sources import Sources, recording
from .stages import CheckFailed
from .store import LAYOUT

FACTS_FILE = "facts.json"
_MEMO_MAX_BYTES = 256 * 2**20  # larger programs are exported again rather than kept alive


class StaleFacts(Exception):
    """Stored facts did not match the model after all (a dependency the key missed changed)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the stored facts {key[:12]} did not match this model's export")
        self.key = key


@dataclass
class Facts:
    """What was measured about the model; `program` is set when exported in this process."""

    reference: Any
    graph_breaks: list[GraphBreak]
    graphs: int
    export: ExportFacts
    program_key: str | None
    key: str | None = None
    program: torch.export.ExportedProgram | None = None
    weight_bytes: int = 0  # of the exported program's weights and constants

    def to_dict(self) -> dict[str, Any]:
        """The storable part (not the reference outputs, not the program)."""
        return {"graph_breaks": [b.to_dict() for b in self.graph_breaks], "graphs": self.graphs,
                "export": self.export.to_dict(), "program_key": self.program_key,
                "weight_bytes": self.weight_bytes}

    @classmethod
    def from_dict(cls, d: dict[str, Any], reference: Any, key: str) -> Facts:
        """Rebuild stored facts around a fresh eager reference."""
        return cls(reference, [GraphBreak(**b) for b in d["graph_breaks"]], int(d["graphs"]),
                   ExportFacts.from_dict(d["export"]), d.get("program_key"), key,
                   weight_bytes=int(d.get("weight_bytes", 0)))


class _RecentProgram:
    """The last exported program, by facts key: the next item of the same model reuses it."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.program: torch.export.ExportedProgram | None = None

    def put(self, facts: Facts | None) -> None:
        self.key, self.program = None, None  # let go of the previous model's weights first
        if facts is not None and facts.key is not None and facts.weight_bytes <= _MEMO_MAX_BYTES:
            self.key, self.program = facts.key, facts.program

    def get(self, key: str | None) -> torch.export.ExportedProgram | None:
        return self.program if key is not None and key == self.key else None


_RECENT = _RecentProgram()


def weight_bytes(program: torch.export.ExportedProgram) -> int:
    """Bytes of the weights and constants an exported program holds."""
    return sum(t.numel() * t.element_size() for t in
               [*program.state_dict.values(), *program.constants.values()]
               if isinstance(t, torch.Tensor))


def eager_reference(job: Job) -> tuple[Any, Sources]:
    """Run the model twice in plain PyTorch: the reference every artifact is compared with."""
    with job.stages.stage("eager") as st, torch.no_grad():
        with recording() as sources:
            first = copy.deepcopy(job.call())  # outputs may alias state
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
    return first, sources


def facts_key(job: Job, sources: Sources) -> str | None:
    """The key of the facts, or None (with a note) when something cannot be keyed faithfully."""
    if sources.problem is not None:
        job.notes.append(f"facts not reusable: {sources.problem}")
        return None
    if job.inputs_key is None:
        return None  # the job already noted why
    try:
        return digest("facts", LAYOUT, environment(), model_fingerprint(job.model),
                      job.inputs_key, job.device, job.opts.strict_export,
                      value_fingerprint(job.opts.dynamic_shapes, "dynamic_shapes"))
    except Uncacheable as exc:
        job.notes.append(f"facts not reusable: {exc}: graph breaks and export are measured on "
                         "every run")
        return None


def _measure(job: Job, reference: Any, key: str | None) -> Facts:
    """Trace with Dynamo and export, for real."""
    with job.stages.stage("graph_breaks") as st:
        breaks, graphs = find_graph_breaks(job.model, job.args, job.kwargs)
        st.detail = f"{len(breaks)} breaks, {graphs} graphs"
    exported = _export(job, "strict" if job.opts.strict_export else "")
    program = exported.program
    facts = Facts(reference, breaks, graphs, exported.facts,
                  program_key(program) if program is not None else None, key, program,
                  weight_bytes(program) if program is not None else 0)
    _RECENT.put(facts)
    return facts


def _export(job: Job, detail: str) -> Any:
    start = time.perf_counter()
    exported = export_model(job.model, job.args, job.kwargs, dynamic_shapes=job.opts.dynamic_shapes,
                            strict=job.opts.strict_export)
    seconds = time.perf_counter() - start
    if exported.facts.ok:
        job.stages.record("export", seconds, detail)
    else:  # a fact, not a crash: whether it fails the check depends on the row
        issues = exported.facts.issues
        job.stages.fail("export", seconds, f"{len(issues)} issue(s): {issues[0].message}")
    return exported


def gather(job: Job, *, reuse: bool = True) -> Facts:
    """The eager reference (always measured) and the stored or measured breaks and export."""
    reference, sources = eager_reference(job)
    key = facts_key(job, sources) if reuse else None
    if key is None:
        return _measure(job, reference, None)
    measured: list[Facts] = []
    stored: list[dict] = []

    def build(folder: Any) -> dict[str, Any]:
        facts = _measure(job, reference, key)
        measured.append(facts)
        (folder / FACTS_FILE).write_text(json.dumps(
            {"facts": facts.to_dict(), "sources": sources.to_dict()}, indent=1))
        return {"graph_breaks": len(facts.graph_breaks), "export_ok": facts.export.ok}

    def accept(entry: Any) -> str | None:
        try:
            data = json.loads(entry.file(FACTS_FILE).read_text())
        except (OSError, ValueError) as exc:
            return f"its facts cannot be read ({exc})"
        changed = Sources.changed(data.get("sources") or {})
        if changed is None:
            stored.append(data)
        return f"sources changed since it was measured ({changed})" if changed else None

    _, use = job.store.obtain("facts", key, build, label=job.name, accept=accept)
    job.used(use)
    if measured:
        return measured[0]
    facts = Facts.from_dict(stored[-1]["facts"], reference, key)
    facts.program = _RECENT.get(key)
    short = key[:12]
    job.stages.record("graph_breaks", 0.0, f"reused {short}: {len(facts.graph_breaks)} breaks, "
                                           f"{facts.graphs} graphs")
    if facts.export.ok:
        job.stages.record("export", 0.0, f"reused {short}")
    else:
        job.stages.fail("export", 0.0, f"reused {short}: {len(facts.export.issues)} issue(s): "
                                       f"{facts.export.issues[0].message}")
    return facts


def program_for(job: Job, facts: Facts, purpose: str) -> torch.export.ExportedProgram:
    """The exported program behind `facts`: kept from this process, or exported again."""
    if facts.program is not None:
        return facts.program
    if facts.program_key is None:
        raise RuntimeError("no exported program: export must succeed before building an artifact")
    exported = _export(job, f"again, to build {purpose} (not kept in this process)")
    if exported.program is None or program_key(exported.program) != facts.program_key:
        raise StaleFacts(facts.key or "")
    facts.program = exported.program
    _RECENT.put(facts)
    return exported.program


def forget_recent() -> None:
    """Drop the kept program (tests, and callers that need the memory back)."""
    _RECENT.put(None)


