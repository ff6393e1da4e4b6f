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
import torch.utils._pytree as pytree

from .decision import recommend
from .devices import proxy_for, run_device
from .errors import InferenceCheckError
from .export import export_model
from .graph_breaks import find_graph_breaks
from .locations import display_path
from .options import CheckOptions, validate
from .outputs import compare, leaves, non_finite
from .quiet import torch_trace_to_torch_only
from .result import (CheckResult, Failure, Fallback, GraphBreak, Latency, Numerics, RaceEntry,
                     Stage)
from .runners import RUNNERS, Context
from .runners.executorch import INSTALL_HINT, ExecuTorchMissing
from .shapes import second_shape
from .stages import StageError, Stages, describe, full_message, user_traceback
from .table import Target, resolve_target
from .timing import beats, median_ms, samples_ms

_STAGE_HINTS = {
    "eager": "the model must run in plain PyTorch on its example inputs first: fix the error at "
             "the user line shown, or the example inputs",
    "graph_breaks": "Dynamo crashed while tracing (not a graph break): try the latest torch, or "
                    "report it to PyTorch with this traceback",
    "aoti_compile": "AOTInductor could not compile the exported program: report it to PyTorch "
                    "with this model, or serve it with torch.compile (Python deployments only)",
    "aoti_load": "the compiled .pt2 package could not be loaded",
    "runner_build": "the C++ runner is built against the installed torch with the system "
                    "compiler: make sure a C++20 compiler is installed (or set CXX)",
    "compile": "torch.compile could not compile the model with this backend",
    "lower": "ExecuTorch could not lower the exported program with these partitioners: try "
             "another partitioner, or remove the unsupported operators it names",
    "to_executorch": "ExecuTorch could not serialize the lowered program to a .pte",
    "et_load": "the ExecuTorch runtime could not load the .pte",
    "run": "the artifact raised on the example inputs; the message above is the runtime's own",
}


def _as_args(example_inputs: Any) -> tuple:
    if isinstance(example_inputs, torch.Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, tuple):
        return example_inputs
    raise InferenceCheckError(
        "example_inputs must be a tuple of positional arguments (or a single tensor), got "
        f"{type(example_inputs).__name__}; wrap it as (x,) or pass keywords via example_kwargs")


@contextlib.contextmanager
def _inference_setup(model: torch.nn.Module, device: str, notes: list[str]) -> Iterator[None]:
    """Eval mode on the target's device; the model's own mode and device are restored after."""
    was_training = model.training
    param = next(iter(model.parameters()), None)
    home = param.device if param is not None else None
    if was_training:
        notes.append("the model was in training mode; it was checked in eval mode")
        model.eval()
    if device != "cpu":
        model.to(device)
    try:
        yield
    finally:
        model.train(was_training)
        if home is not None and device != "cpu":
            model.to(home)


def _failure_lines(items: list[str]) -> str:
    return "\n".join(f"  - {item}" for item in items)


class _Check:
    """One check in progress: the target, options, stages and the result being filled in."""

    def __init__(self, ctx: Context, t: Target, opts: CheckOptions, result: CheckResult,
                 stages: Stages) -> None:
        self.ctx, self.t, self.opts, self.result, self.stages = ctx, t, opts, result, stages
        self.reference: Any = None

    # -- the eager reference and the facts ---------------------------------------------------
    def eager(self) -> bool:
        """Run the model twice in plain PyTorch: the reference every artifact is compared with."""
        ctx, result = self.ctx, self.result
        with self.stages.stage("eager") as st, torch.no_grad():
            first = copy.deepcopy(ctx.model(*ctx.args, **ctx.kwargs))  # outputs may alias state
            second = ctx.model(*ctx.args, **ctx.kwargs)
            st.detail = "ran twice"
        flat = leaves(first)
        if not any(isinstance(v, torch.Tensor) for _, v in flat):
            kinds = sorted({type(v).__name__ for _, v in flat}) or ["None"]
            result.failures.append(Failure(
                "eager", f"the model's outputs hold no tensor (got {', '.join(kinds)}): "
                         "there is nothing to compare an artifact with",
                "return the tensors the deployed model produces (a tensor, tuple, dict or "
                "dataclass)"))
            return False
        bad = non_finite(flat)
        if bad:
            result.failures.append(Failure(
                "eager", f"eager outputs hold NaN or infinity at {', '.join(bad[:5])}",
                "fix the model or its example inputs (weight init, division by zero, log of "
                "zero) so that eager outputs are finite; a comparison with NaN proves nothing"))
            return False
        stable = compare(second, first, atol=self.opts.atol, rtol=self.opts.rtol)
        if not stable.ok:
            m = stable.mismatches[0]
            result.failures.append(Failure(
                "eager", f"two eager runs on the same inputs differ at {m.path}: {m.message}",
                "remove randomness from forward (dropout outside eval mode, torch.rand, "
                "non-deterministic ops) so the eager reference is stable"))
            return False
        self.reference = first
        return True

    def graph_breaks(self) -> list[GraphBreak]:
        """Measure the breaks; more than `max_graph_breaks` fails on any target."""
        with self.stages.stage("graph_breaks") as st:
            breaks, graphs = find_graph_breaks(self.ctx.model, self.ctx.args, self.ctx.kwargs)
            st.detail = f"{len(breaks)} breaks, {graphs} graphs"
        self.result.graph_breaks = breaks
        limit = self.opts.max_graph_breaks
        if limit is not None and len(breaks) > limit:
            self.result.failures.append(self._break_failure(
                f"{len(breaks)} graph breaks, more than max_graph_breaks={limit}"))
        return breaks

    def export(self) -> None:
        """Export once; the program is reused by every path that needs it."""
        start = time.perf_counter()
        exported = export_model(self.ctx.model, self.ctx.args, self.ctx.kwargs,
                                dynamic_shapes=self.opts.dynamic_shapes,
                                strict=self.opts.strict_export)
        facts = exported.facts
        if facts.ok:
            self.stages.record("export", time.perf_counter() - start,
                               "strict" if self.opts.strict_export else "")
        else:  # a fact, not a crash: whether it fails the check depends on the row
            self.stages.fail("export", time.perf_counter() - start,
                             f"{len(facts.issues)} issue(s): {facts.issues[0].message}")
        self.result.export, self.ctx.program = facts, exported.program

    def _break_failure(self, why: str) -> Failure:
        breaks = self.result.graph_breaks or []
        items = [f"{b.where}: [{b.type}] {b.reason} -> {b.hint}"
                 + (f" (inside {b.library_frame})" if b.library_frame else "") for b in breaks]
        first = breaks[0] if breaks else None
        return Failure("graph_breaks", f"{why}:\n{_failure_lines(items)}",
                       "remove each break at the user line shown (hints per break above)",
                       first.file if first else None, first.line if first else None)

    def _export_failure(self, why: str) -> Failure:
        issues = self.result.export.issues if self.result.export else []
        items = [f"{display_path(i.file) if i.file else '<unknown>'}:{i.line}: [{i.kind}] "
                 f"{i.message} -> {i.hint}" for i in issues]
        first = issues[0] if issues else None
        return Failure("export", f"torch.export failed with {len(issues)} "
                                 f"issue{'s' if len(issues) != 1 else ''}; {why}:\n"
                                 f"{_failure_lines(items)}",
                       "fix each issue at the line shown (a hint follows each one above)",
                       first.file if first else None, first.line if first else None)

    # -- the paths -------------------------------------------------------------------------
    def run_path(self, technology: str) -> None:
        """Build the artifact for one technology, run it, compare with eager, time it."""
        ctx, result = self.ctx, self.result
        artifact: Callable[..., Any] | None = RUNNERS[technology]().build(ctx, self.stages)
        if artifact is None:  # built but cannot run here (e.g. a backend this runtime lacks)
            return
        with self.stages.stage("run"), torch.no_grad():
            out = artifact(*ctx.args, **ctx.kwargs)
        result.numerics = self._compare("compare", out, self.reference)
        self._second_shape(artifact, result.numerics)
        if not result.numerics.ok:
            bad = result.numerics.mismatches or (result.numerics.second_shape.mismatches
                                                 if result.numerics.second_shape else [])
            result.failures.append(Failure(
                "compare", f"{technology} outputs differ from eager: "
                           + "; ".join(f"{m.path}: {m.message}" for m in bad[:5]),
                "a numerics bug in the compiled artifact: loosen atol/rtol only if the error is "
                "expected (e.g. reduced precision), otherwise report it with this model"))
        with self.stages.stage("latency") as st:
            eager_ms = median_ms(lambda: ctx.model(*ctx.args, **ctx.kwargs))
            if artifact is ctx.model:
                artifact_ms: float | None = eager_ms
            elif hasattr(artifact, "measure_latency_ms"):  # measured in the artifact's process
                artifact_ms = artifact.measure_latency_ms()
            else:
                artifact_ms = median_ms(lambda: artifact(*ctx.args, **ctx.kwargs))
            st.detail = f"eager {eager_ms:.3f} ms, {technology} " + (
                f"{artifact_ms:.3f} ms" if artifact_ms is not None else "not measured")
        result.latency = Latency(eager_ms, artifact_ms)

    def _compare(self, stage: str, out: Any, reference: Any) -> Numerics:
        start = time.perf_counter()
        numerics = compare(out, reference, atol=self.opts.atol, rtol=self.opts.rtol)
        detail = f"{numerics.compared} leaves, max abs err {numerics.max_abs_err:.3g}"
        (self.stages.record if numerics.ok else self.stages.fail)(
            stage, time.perf_counter() - start, detail)
        return numerics

    def _second_shape(self, artifact: Callable[..., Any], numerics: Numerics) -> None:
        """With dynamic_shapes, run eager and the artifact at another shape and compare."""
        ctx = self.ctx
        other = second_shape(ctx.model, ctx.args, ctx.kwargs, self.opts.dynamic_shapes)
        if other is None:
            if self.opts.dynamic_shapes is not None:
                numerics.notes.append("dynamic_shapes names no dimension that could be resized: "
                                      "only the example shape was checked")
            return
        args, kwargs, desc = other
        with self.stages.stage("run_second_shape") as st, torch.no_grad():
            expected = ctx.model(*args, **kwargs)
            got = artifact(*args, **kwargs)
            st.detail = desc
        numerics.shapes = desc
        numerics.second_shape = self._compare("compare_second_shape", got, expected)
        numerics.ok = numerics.ok and numerics.second_shape.ok

    def race(self) -> str | None:
        """Row 7: compile, check and time inductor and each listed backend; return the winner."""
        ctx, entries, timings = self.ctx, [], {}
        for backend in dict.fromkeys(("inductor", *self.opts.backends)):
            start = time.perf_counter()
            try:
                with torch.no_grad():
                    compiled = torch.compile(ctx.model, backend=backend)
                    out = compiled(*ctx.args, **ctx.kwargs)
                numerics = compare(out, self.reference, atol=self.opts.atol, rtol=self.opts.rtol)
                timing = samples_ms(lambda: compiled(*ctx.args, **ctx.kwargs))
            except Exception as exc:  # noqa: BLE001 - a backend that cannot compile loses
                entries.append(RaceEntry(backend, False, error=describe(exc)))
                self.stages.fail(f"race:{backend}", time.perf_counter() - start, describe(exc))
                continue
            ctx.artifacts[f"torch.compile:{backend}"] = compiled
            entry = RaceEntry(backend, numerics.ok, timing.samples, numerics.max_abs_err,
                              None if numerics.ok else "outputs differ from eager")
            entries.append(entry)
            if numerics.ok:  # decide from the samples as reported, so the report re-derives it
                timings[backend] = entry.timing
            (self.stages.record if numerics.ok else self.stages.fail)(
                f"race:{backend}", time.perf_counter() - start,
                f"median {entry.median_ms:.3f} ms ± {entry.spread_ms:.3f}")
        self.result.race = entries
        base = timings.get("inductor")
        if base is None:
            return None
        faster = [b for b, t in timings.items() if b != "inductor" and beats(t, base)]
        return min(faster, key=lambda b: timings[b].median) if faster else None

    # -- the rows --------------------------------------------------------------------------
    def server_python(self) -> None:
        """Rows 3, 4, 5 and 7: AOTI when the model allows it, else torch.compile, reasons kept."""
        t, result = self.t, self.result
        breaks = len(result.graph_breaks or [])
        fastest = self.race() if self.opts.backends else None
        if fastest or breaks:
            result.recommendation = recommend(t, graph_breaks=breaks, fastest_backend=fastest)
            self.ctx.backend = result.recommendation.backend or "inductor"
            self.run_path("torch.compile")
            return
        if result.export is not None and result.export.ok:
            try:
                result.recommendation = recommend(t, graph_breaks=0)
                self.run_path("aoti-python")
                return
            except StageError as err:
                result.fallback = Fallback("aoti-python", err.stage, describe(err.exc))
        else:
            first = result.export.issues[0] if result.export and result.export.issues else None
            result.fallback = Fallback("aoti-python", "export",
                                       first.message if first else "torch.export failed")
        result.recommendation = recommend(t, graph_breaks=0, aoti_supported=False)
        self.run_path("torch.compile")

    def without_fallback(self) -> None:
        """Rows 1, 2 and 6: breaks and export failures are hard failures; then the path runs."""
        rec, t, result = self.result.recommendation, self.t, self.result
        assert rec is not None
        path = "AOTI C++ is required" if rec.technology == "aoti-cpp" else "ExecuTorch is the path"
        why = f"row {rec.row} ({t.id}): {path} and the table has no fallback"
        if result.graph_breaks:
            result.failures.append(self._break_failure(
                f"{len(result.graph_breaks)} graph break"
                f"{'s' if len(result.graph_breaks) != 1 else ''}; {why}"))
        if result.export is not None and not result.export.ok:
            result.failures.append(self._export_failure(why))
        if result.failures:
            return
        if rec.technology == "executorch":
            self.executorch()
        else:
            self.run_path("aoti-cpp")

    def executorch(self) -> None:
        """Lower, run where the runtime has the backend, and apply the delegation/size gates."""
        result, opts = self.result, self.opts
        self.ctx.options["executorch_partitioners"] = list(opts.executorch_partitioners)
        try:
            self.run_path("executorch")
        except ExecuTorchMissing as exc:
            result.failures.append(Failure(
                "executorch", f"{exc}; {self.t.id} (row {result.recommendation.row}) cannot be "
                              "checked without it", INSTALL_HINT))
            return
        finally:
            result.executorch = self.ctx.artifacts.get("executorch")
        facts = result.executorch or {}
        if facts and not facts.get("executed", True):
            missing = [b for b, ok in facts["backends_available"].items() if not ok]
            result.skip_reason = (f"lowered with {', '.join(facts['partitioners'])} "
                                  f"({facts['delegation']:.0%} of nodes delegated), not executed "
                                  f"here: this ExecuTorch runtime lacks {', '.join(missing)}")
        left_out = ", ".join(f"{op} x{n}" for op, n in facts.get("ops_not_delegated", {}).items())
        if opts.min_delegation is not None and facts.get("delegation", 1.0) < opts.min_delegation:
            result.failures.append(Failure(
                "delegation", f"{facts['delegation']:.1%} of nodes delegated to "
                              f"{', '.join(facts['partitioners'])}, below min_delegation="
                              f"{opts.min_delegation:g}; left to the portable runtime: "
                              f"{left_out or 'none'}",
                "replace the operators left out with ones the backend supports, or add a "
                "partitioner that takes them"))
        if opts.max_pte_bytes is not None and facts.get("pte_bytes", 0) > opts.max_pte_bytes:
            result.failures.append(Failure(
                "pte_size", f".pte is {facts['pte_bytes']} bytes, over max_pte_bytes="
                            f"{opts.max_pte_bytes}",
                "quantize the model (torchao / XNNPACK quantizer) or shrink it"))

    def run(self) -> None:
        """Eager, facts, decision, path: the whole check."""
        if not self.eager():
            return
        self.graph_breaks()
        if self.t.platform == "mac":
            self.result.recommendation = recommend(self.t, graph_breaks=0)
            self.stages.skip("export", "not needed on row 8 (eager)")
            self.run_path("eager")
            return
        self.export()
        if self.t.runtime == "python":
            self.server_python()
        else:
            self.without_fallback()


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
    name: str | None = None,
    on_stage: Callable[[Stage], None] | None = None,
    **options: Any,
) -> CheckResult:
    """Check one model for one deployment target along the table's recommended path.

    Further options (see `CheckOptions`): strict_export, require_device, max_graph_breaks,
    backends, executorch_partitioners, min_delegation, max_pte_bytes, cpp_timeout_s.
    """
    t = resolve_target(target)
    opts = validate({"uses": uses, "atol": atol, "rtol": rtol, "dynamic_shapes": dynamic_shapes,
                     **options}, "check()")
    if not isinstance(model, torch.nn.Module):
        raise InferenceCheckError(
            f"model must be a torch.nn.Module, got {type(model).__name__}; wrap a function in a "
            "Module whose forward calls it")
    args = _as_args(example_inputs)
    if example_kwargs is not None and not isinstance(example_kwargs, dict):
        raise InferenceCheckError(
            f"example_kwargs must be a dict, got {type(example_kwargs).__name__}")

    result = CheckResult(model=name or type(model).__name__, target=t.id, declared=opts.uses,
                         proxy=proxy_for(t))
    stages = Stages(on_stage)
    if t.runtime != "python":  # these rows do not depend on measurements; failures can cite them
        result.recommendation = recommend(t, graph_breaks=0)
    if result.proxy and opts.require_device:
        result.failures.append(Failure(
            "device", f"{t.id} needs a {t.device} device and this host has none",
            "run on a machine with the device, or drop require_device to accept a host proxy"))
        return result

    device = run_device(t)
    to_device = (lambda x: x.to(device) if isinstance(x, torch.Tensor) else x)
    with tempfile.TemporaryDirectory(prefix="inferencecheck-") as tmp, \
            _inference_setup(model, device, result.notes):
        ctx = Context(model, pytree.tree_map(to_device, args),
                      pytree.tree_map(to_device, dict(example_kwargs or {})), Path(tmp),
                      options={"cpp_timeout_s": opts.cpp_timeout_s})
        try:
            with torch_trace_to_torch_only():
                _Check(ctx, t, opts, result, stages).run()
        except StageError as err:
            where = err.where
            frames = user_traceback(err.exc)
            result.failures.append(Failure(
                err.stage, full_message(err.exc) + (f"\n{frames}" if frames else ""),
                _STAGE_HINTS.get(err.stage, ""), where.file if where else None,
                where.line if where else None))
        finally:
            torch._dynamo.reset()
            result.stages = stages.stages
    _deviation(result)
    return result


def _deviation(result: CheckResult) -> None:
    rec = result.recommendation
    if result.declared and rec and result.declared != rec.technology:
        result.deviation = (f"declared {result.declared!r} but {rec.reason}: deploy with "
                            f"{rec.technology} or fix what moved the model off "
                            f"{result.declared}")
