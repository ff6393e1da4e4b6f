"""One call's facts, measured once for all of its targets.

The targets of one call (a marked test's targets, a config-declared model's, `inferencecheck run
--target a,b`, `check_targets`) check one model on one set of inputs with one set of options.
Nothing of the user's runs between them, so the eager reference, the graph breaks and the export
that the first target measures are the ones each other target would measure alone: they are
measured once, and each later target's result lists those stages as shared.

What one target's path does to the model is undone before the next target's path starts: the
model's buffers and torch's random state are put back as they were just after the facts were
measured, which is where a cold check of that target alone would be. Where that cannot be made
sure (a parameter changed in place or replaced, a buffer added or reshaped, buffers too large to
copy), the next target measures its own facts, as it would alone, and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from pytest_inferencecheck.checking.facts import Facts, gather
from pytest_inferencecheck.checking.job import Job
from pytest_inferencecheck.result import Stage

SNAPSHOT_MAX_BYTES = 256 * 2**20  # larger buffers are not copied: later targets measure again
FACT_STAGES = ("eager", "graph_breaks", "export")


@dataclass
class _Measured:
    """The facts one target measured, and the model's state just after."""

    by: str
    facts: Facts | None
    error: BaseException | None
    stages: list[Stage]
    notes: list[str]
    params: dict[str, tuple[int, int]]
    buffers: dict[str, torch.Tensor] | None  # None: too large to copy
    rng: torch.Tensor


class SharedFacts:
    """The facts of one call, by device: measured by its first target, read by the others."""

    def __init__(self) -> None:
        self._by_device: dict[str, _Measured] = {}

    def gather(self, job: Job) -> Facts:
        """The facts for `job`: measured now (first target on its device, or the model's state
        cannot be put back), else the first target's, its stages listed as shared."""
        measured = self._by_device.get(job.device)
        if measured is not None:
            why = _put_back(job.model, measured)
            if why is None:
                return _replay(job, measured)
            job.notes.append(f"the facts were measured again for {job.target.id}: {why}")
        stage_mark, note_mark = job.stages.mark(), len(job.notes)
        facts: Facts | None = None
        error: BaseException | None = None
        try:
            facts = gather(job)
            return facts
        except Exception as exc:  # noqa: BLE001 - kept to be raised for each target alike
            error = exc
            raise
        finally:
            if facts is not None or error is not None:  # not when interrupted (Ctrl-C)
                self._by_device[job.device] = _Measured(
                    job.target.id, facts, error, list(job.stages.stages[stage_mark:]),
                    list(job.notes[note_mark:]), _params(job.model), _buffers(job.model),
                    torch.get_rng_state())


def _replay(job: Job, measured: _Measured) -> Facts:
    for stage in measured.stages:
        shared = f"shared: measured once for this call, by its {measured.by} check"
        job.stages.replay(replace(stage, seconds=0.0, detail=f"{stage.detail}; {shared}"
                                  if stage.detail else shared))
    job.notes.extend(n for n in measured.notes if n not in job.notes)
    if measured.error is not None:
        raise measured.error
    assert measured.facts is not None
    return measured.facts


def _params(model: torch.nn.Module) -> dict[str, tuple[int, int]]:
    """Each parameter's storage and version counter: an in-place change or a new tensor moves
    one of them."""
    return {name: (p.data_ptr(), p._version) for name, p in
            model.named_parameters(remove_duplicate=False)}


def _buffers(model: torch.nn.Module) -> dict[str, torch.Tensor] | None:
    buffers = dict(model.named_buffers(remove_duplicate=False))
    if sum(b.numel() * b.element_size() for b in buffers.values()) > SNAPSHOT_MAX_BYTES:
        return None
    return {name: b.detach().clone() for name, b in buffers.items()}


def _put_back(model: torch.nn.Module, measured: _Measured) -> str | None:
    """Put the model's buffers and torch's random state back as they were just after the facts
    were measured; None when done, else why it cannot be."""
    if _params(model) != measured.params:
        return "a parameter was changed in place or replaced since they were measured"
    now = dict(model.named_buffers(remove_duplicate=False))
    saved = measured.buffers
    if saved is None:
        return (f"the model's buffers are over {SNAPSHOT_MAX_BYTES >> 20} MiB, too large to "
                "copy and put back")
    if now.keys() != saved.keys() or any(now[k].shape != v.shape or now[k].dtype != v.dtype
                                         for k, v in saved.items()):
        return "a buffer was added, removed or reshaped since they were measured"
    with torch.no_grad():
        for name, value in saved.items():
            now[name].copy_(value)
    torch.set_rng_state(measured.rng)
    return None
