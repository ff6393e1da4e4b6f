"""`check()`: measure the facts, decide the row, run the recommended path, compare with eager."""

from __future__ import annotations

import contextlib
import copy
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from .decision import recommend
from .devices import proxy_for, run_device
from .errors import InferenceCheckError
from .export import export_model
from .graph_breaks import find_graph_breaks
from .locations import display_path
from .outputs import compare, leaves, non_finite
from .result import CheckResult, Failure, Fallback, GraphBreak, Latency, Stage
from .runners import RUNNERS, Context
from .stages import StageError, Stages, describe, user_traceback
from .table import Target, resolve_target, resolve_technology
from .timing import median_ms

# Paths not yet run by this version: the result is an honest skip that says why.
_NOT_YET = {
    "aoti-cpp": "the AOTI C++ runner is not available in this version of pytest-inferencecheck",
    "executorch": "the ExecuTorch path is not available in this version of pytest-inferencecheck",
}


def _as_args(example_inputs: Any) -> tuple:
    if isinstance(example_inputs, torch.Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, tuple):
        return example_inputs
    raise InferenceCheckError(
        "example_inputs must be a tuple of positional arguments (or a single tensor), got "
        f"{type(example_inputs).__name__}; wrap it as (x,) or pass keywords via example_kwargs")


def _tolerance(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InferenceCheckError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module, notes: list[str]) -> Iterator[None]:
    """Inference is checked in eval mode; the model's own mode is restored afterwards."""
    was_training = model.training
    if was_training:
        notes.append("the model was in training mode; it was checked in eval mode")
        model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _eager(ctx: Context, stages: Stages, result: CheckResult, atol: float, rtol: float) -> Any:
    """Run the model twice in plain PyTorch: the reference every artifact is compared with."""
    with stages.stage("eager") as st, torch.no_grad():
        first = ctx.model(*ctx.args, **ctx.kwargs)
        first = copy.deepcopy(first)  # a model may return views of state it later mutates
        second = ctx.model(*ctx.args, **ctx.kwargs)
        st.detail = "ran twice"
    flat = leaves(first)
    if not any(isinstance(v, torch.Tensor) for _, v in flat):
        kinds = sorted({type(v).__name__ for _, v in flat}) or ["None"]
        result.failures.append(Failure(
            "eager", f"the model's outputs hold no tensor (got {', '.join(kinds)}): "
                     "there is nothing to compare an artifact with",
            "return the tensors the deployed model produces (a tensor, tuple, dict or dataclass)"))
        return None
    bad = non_finite(flat)
    if bad:
        result.failures.append(Failure(
            "eager", f"eager outputs hold NaN or infinity at {', '.join(bad[:5])}",
            "fix the model or its example inputs (weight init, division by zero, log of zero) so "
            "that eager outputs are finite; a comparison with NaN proves nothing"))
        return None
    stable = compare(second, first, atol=atol, rtol=rtol)
    if not stable.ok:
        m = stable.mismatches[0]
        result.failures.append(Failure(
            "eager", f"two eager runs on the same inputs differ at {m.path}: {m.message}",
            "remove randomness from forward (dropout outside eval mode, torch.rand, "
            "non-deterministic ops) so the eager reference is stable"))
        return None
    return first


def _graph_break_failure(breaks: list[GraphBreak], why: str) -> Failure:
    lines = [f"{len(breaks)} graph break{'s' if len(breaks) != 1 else ''}; {why}:"]
    lines += [f"  - {b.where}: [{b.type}] {b.reason} -> {b.hint}" for b in breaks]
    first = breaks[0]
    return Failure("graph_breaks", "\n".join(lines),
                   "remove each break listed above (fix them at the user lines shown)",
                   first.file, first.line)


def _export_failure(result: CheckResult, row_text: str) -> Failure:
    issues = result.export.issues if result.export else []
    lines = [f"torch.export failed with {len(issues)} issue{'s' if len(issues) != 1 else ''}; "
             f"{row_text}:"]
    lines += [f"  - {display_path(i.file) if i.file else '<unknown>'}:{i.line}: [{i.kind}] "
              f"{i.message} -> {i.hint}" for i in issues]
    first = issues[0] if issues else None
    return Failure("export", "\n".join(lines),
                   first.hint if first else "make the model exportable with torch.export",
                   first.file if first else None, first.line if first else None)


def _stage_failure(err: StageError, hint: str) -> Failure:
    where = err.where
    return Failure(err.stage, f"{describe(err.exc)}\n{user_traceback(err.exc)}", hint,
                   where.file if where else None, where.line if where else None)


_STAGE_HINTS = {
    "eager": "the model must run in plain PyTorch on its example inputs first: fix the error at "
             "the user line shown, or the example inputs",
    "graph_breaks": "Dynamo crashed while tracing (not a graph break): try the latest torch, or "
                    "report it to PyTorch with this traceback",
    "export": "see the export issues listed above",
    "aoti_compile": "AOTInductor could not compile the exported program",
    "aoti_load": "the compiled .pt2 package could not be loaded",
    "compile": "torch.compile could not compile the model with this backend",
    "run": "the artifact raised on the example inputs",
}


def _run_path(technology: str, ctx: Context, stages: Stages, result: CheckResult,
              reference: Any, atol: float, rtol: float) -> None:
    """Build the artifact for one technology, run it, compare with eager, time it."""
    artifact: Callable[..., Any] = RUNNERS[technology]().build(ctx, stages)
    with stages.stage("run"), torch.no_grad():
        out = artifact(*ctx.args, **ctx.kwargs)
    start = time.perf_counter()
    numerics = compare(out, reference, atol=atol, rtol=rtol)
    detail = f"{numerics.compared} leaves, max abs err {numerics.max_abs_err:.3g}"
    (stages.record if numerics.ok else stages.fail)("compare", time.perf_counter() - start, detail)
    result.numerics = numerics
    if not numerics.ok:
        result.failures.append(Failure(
            "compare", f"{technology} outputs differ from eager: "
                       + "; ".join(f"{m.path}: {m.message}" for m in numerics.mismatches[:5]),
            "a numerics bug in the compiled artifact: loosen atol/rtol only if the error is "
            "expected (e.g. reduced precision), otherwise report it with this model to PyTorch"))
    with stages.stage("latency") as st:
        eager_ms = median_ms(lambda: ctx.model(*ctx.args, **ctx.kwargs))
        artifact_ms = eager_ms if artifact is ctx.model else median_ms(
            lambda: artifact(*ctx.args, **ctx.kwargs))
        st.detail = f"eager {eager_ms:.3f} ms, {technology} {artifact_ms:.3f} ms"
    result.latency = Latency(eager_ms, artifact_ms)


def _server_python(ctx: Context, t: Target, stages: Stages, result: CheckResult,
                   reference: Any, atol: float, rtol: float) -> None:
    """Rows 3-5: AOTI when the model allows it, otherwise torch.compile with the reason kept."""
    breaks = len(result.graph_breaks or [])
    if breaks:
        result.recommendation = recommend(t, graph_breaks=breaks)
        _run_path("torch.compile", ctx, stages, result, reference, atol, rtol)
        return
    if result.export is not None and result.export.ok:
        try:
            result.recommendation = recommend(t, graph_breaks=0)
            _run_path("aoti-python", ctx, stages, result, reference, atol, rtol)
            return
        except StageError as err:
            result.fallback = Fallback("aoti-python", err.stage, describe(err.exc))
    else:
        first = result.export.issues[0] if result.export and result.export.issues else None
        result.fallback = Fallback("aoti-python", "export",
                                   first.message if first else "torch.export failed")
    result.recommendation = recommend(t, graph_breaks=0, aoti_supported=False)
    ctx.backend = result.recommendation.backend or "inductor"
    _run_path("torch.compile", ctx, stages, result, reference, atol, rtol)


def _requires_export(result: CheckResult, t: Target) -> None:
    """Rows 1, 2 and 6 have no fallback: breaks and export failures are hard failures."""
    rec = result.recommendation
    assert rec is not None
    path = "AOTI C++ is required" if rec.technology == "aoti-cpp" else "ExecuTorch is the path"
    row_text = f"row {rec.row} ({t.id}): {path} and the table has no fallback"
    if result.graph_breaks:
        result.failures.append(_graph_break_failure(result.graph_breaks, row_text))
    if result.export is not None and not result.export.ok:
        result.failures.append(_export_failure(result, row_text))


def check(
    model: torch.nn.Module,
    example_inputs: Any,
    target: str = "server-x86-python",
    *,
    uses: str | None = None,
    atol: float = 1e-4,
    rtol: float = 1e-4,
    dynamic_shapes: Any = None,
    example_kwargs: dict | None = None,
    strict_export: bool = False,
    require_device: bool = False,
    name: str | None = None,
    on_stage: Callable[[Stage], None] | None = None,
) -> CheckResult:
    """Check one model for one deployment target along the table's recommended path."""
    t = resolve_target(target)
    declared = resolve_technology(uses) if uses is not None else None
    if not isinstance(model, torch.nn.Module):
        raise InferenceCheckError(
            f"model must be a torch.nn.Module, got {type(model).__name__}; wrap a function in a "
            "Module whose forward calls it")
    args = _as_args(example_inputs)
    if example_kwargs is not None and not isinstance(example_kwargs, dict):
        raise InferenceCheckError(
            f"example_kwargs must be a dict, got {type(example_kwargs).__name__}")
    atol, rtol = _tolerance("atol", atol), _tolerance("rtol", rtol)

    result = CheckResult(model=name or type(model).__name__, target=t.id, declared=declared,
                         proxy=proxy_for(t))
    stages = Stages(on_stage)
    if t.runtime != "python":  # these rows do not depend on measurements; failures can cite them
        result.recommendation = recommend(t, graph_breaks=0)
    if result.proxy and require_device:
        result.failures.append(Failure(
            "device", f"{t.id} needs a {t.device} device and this host has none",
            "run on a machine with the device, or drop require_device to accept a host proxy"))
        return result

    with tempfile.TemporaryDirectory(prefix="inferencecheck-") as tmp, \
            _eval_mode(model, result.notes):
        ctx = Context(model, args, dict(example_kwargs or {}), Path(tmp), device=run_device(t))
        try:
            _check_path(ctx, t, stages, result, atol, rtol, dynamic_shapes, strict_export)
        except StageError as err:
            result.failures.append(_stage_failure(err, _STAGE_HINTS.get(err.stage, "")))
        finally:
            torch._dynamo.reset()
            result.stages = stages.stages
    _deviation(result)
    return result


def _check_path(ctx: Context, t: Target, stages: Stages, result: CheckResult, atol: float,
                rtol: float, dynamic_shapes: Any, strict_export: bool) -> None:
    reference = _eager(ctx, stages, result, atol, rtol)
    if reference is None:
        return
    with stages.stage("graph_breaks") as st:
        breaks, graphs = find_graph_breaks(ctx.model, ctx.args, ctx.kwargs)
        st.detail = f"{len(breaks)} breaks, {graphs} graphs"
    result.graph_breaks = breaks
    if t.platform == "mac":
        result.recommendation = recommend(t, graph_breaks=len(breaks))
        stages.skip("export", "not needed on row 8 (eager)")
        _run_path("eager", ctx, stages, result, reference, atol, rtol)
        return
    start = time.perf_counter()
    exported = export_model(ctx.model, ctx.args, ctx.kwargs, dynamic_shapes=dynamic_shapes,
                            strict=strict_export)
    if exported.facts.ok:
        stages.record("export", time.perf_counter() - start, "strict" if strict_export else "")
    else:  # a fact, not a crash: whether it fails the check depends on the row
        stages.fail("export", time.perf_counter() - start,
                    f"{len(exported.facts.issues)} issue(s): {exported.facts.issues[0].message}")
    result.export, ctx.program = exported.facts, exported.program
    if t.runtime == "python":
        _server_python(ctx, t, stages, result, reference, atol, rtol)
        return
    result.recommendation = recommend(t, graph_breaks=len(breaks))
    _requires_export(result, t)
    if not result.failures:
        result.skip_reason = f"{_NOT_YET[result.recommendation.technology]} (row " \
                             f"{result.recommendation.row}); the graph-break and export facts " \
                             f"were checked and pass"


def _deviation(result: CheckResult) -> None:
    rec = result.recommendation
    if result.declared and rec and result.declared != rec.technology:
        result.deviation = (f"declared {result.declared!r} but {rec.reason}: deploy with "
                            f"{rec.technology} or fix what moved the model off "
                            f"{result.declared}")
