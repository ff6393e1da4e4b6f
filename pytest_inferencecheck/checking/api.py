"""`check()`: the public API. Validates its arguments, sets up a job, runs the pipeline."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pytest_inferencecheck.checking import pipeline
from pytest_inferencecheck.checking.job import Job
from pytest_inferencecheck.checking.sharing import SharedFacts
from pytest_inferencecheck.checking.stages import Stages, deadline, full_message, user_traceback
from pytest_inferencecheck.config.options import CheckOptions, validate
from pytest_inferencecheck.config.settings import check_level
from pytest_inferencecheck.errors import (
    CheckFailed,
    CheckTimeout,
    Explained,
    InferenceCheckError,
    InternalError,
    StageError,
)
from pytest_inferencecheck.host.devices import proxy_for, run_device
from pytest_inferencecheck.host.faults import host_fault
from pytest_inferencecheck.measure.hints import STAGE_HINTS, lower_hint
from pytest_inferencecheck.recommendations.decision import deviation
from pytest_inferencecheck.recommendations.table import Target, resolve_target
from pytest_inferencecheck.result import CheckResult, Failure, Stage, identity_of
from pytest_inferencecheck.store import open_store
from pytest_inferencecheck.store.artifacts import ArtifactStore
from pytest_inferencecheck.support import compat
from pytest_inferencecheck.support.locations import forward_location
from pytest_inferencecheck.support.quiet import torch_trace_to_torch_only


def artifact_store(where: ArtifactStore | str | Path | bool | None = None) -> ArtifactStore:
    """The store a check uses (`store=` of `check()`): see `open_store`."""
    if isinstance(where, ArtifactStore):
        return where
    return open_store(where if isinstance(where, (str, Path)) else None,
                      persistent=where is not False)


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
    """Eval mode on the target's device; the model's own mode and device are restored after.
    A model on another device than the target's (one already on CUDA checked for a CPU target)
    is moved there, as its inputs are, and moved back."""
    was_training = model.training
    home = _home_device(model)
    moved = home is not None and home.type != torch.device(device).type
    if was_training:
        notes.append("the model was in training mode; it was checked in eval mode")
        model.eval()
    if moved:
        notes.append(f"the model was on {home}; it was checked on {device}, the target's "
                     "device, and moved back after")
        model.to(device)
    try:
        yield
    finally:
        model.train(was_training)
        if moved:
            model.to(home)


def _home_device(model: torch.nn.Module) -> torch.device | None:
    """The device the model's weights (else its buffers) are on; None for a model with none."""
    for tensors in (model.parameters(), model.buffers()):
        first = next(iter(tensors), None)
        if first is not None:
            return first.device
    return None


def check(
    model: torch.nn.Module,
    example_inputs: Any,
    target: str = "server-x86-python",
    *,
    uses: str | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dynamic_shapes: Any = None,
    example_kwargs: dict | None = None,
    name: str | None = None,
    on_stage: Callable[[Stage], None] | None = None,
    store: ArtifactStore | str | Path | bool | None = None,
    prebuild: str | tuple[str, ...] = (),
    level: str = "full",
    **options: Any,
) -> CheckResult:
    """Check one model for one deployment target along the table's recommended path.

    Artifacts and measured facts are kept in `store` (see `artifact_store`) and reused by
    every later check they fit. `prebuild` names other targets this model will be checked on
    next: their artifacts are built by a helper process while this check's own path runs.
    `level="quick"` measures the facts and decides the row without compiling, lowering or running
    any artifact (seconds instead of minutes); the result says so. Further options, and every
    option's default (`atol` and `rtol` 1e-4 among them), are `CheckOptions`': strict_export,
    require_device, max_graph_breaks, backends, executorch_partitioners, executorch_operators,
    min_delegation, max_pte_bytes, cpp_timeout_s, timeout_s.

    A thin wrapper: it validates its arguments into typed objects, once, and hands them to
    `run_checked`, the one entry the plugin, config models and `inferencecheck run` share.
    """
    t = resolve_target(target)
    level = check_level(level, "check(level=...)")
    opts = validate({"uses": uses, "atol": atol, "rtol": rtol, "dynamic_shapes": dynamic_shapes,
                     **options}, "check()")
    ahead = tuple(resolve_target(p) for p in ((prebuild,) if isinstance(prebuild, str)
                                              else prebuild))
    return run_checked(model, example_inputs, t, opts, level=level,
                       example_kwargs=example_kwargs, name=name, on_stage=on_stage, store=store,
                       prebuild=ahead)


def check_targets(
    model: torch.nn.Module,
    example_inputs: Any,
    targets: Sequence[str],
    *,
    uses: str | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dynamic_shapes: Any = None,
    example_kwargs: dict | None = None,
    name: str | None = None,
    on_stage: Callable[[Stage], None] | None = None,
    store: ArtifactStore | str | Path | bool | None = None,
    level: str = "full",
    **options: Any,
) -> list[CheckResult]:
    """Check one model on several targets in one call: one result per target, in their order.

    The targets share the eager reference, the graph breaks and the export (measured once: no
    code of the caller's runs between them, so each is what a check of that target alone
    measures), and each target's artifacts are built ahead by a helper while an earlier target's
    path runs. Options as `check`'s."""
    if isinstance(targets, str) or not targets:
        raise InferenceCheckError(
            f"targets must be a non-empty list of target names, got {targets!r}; "
            "for one target, call check(model, example_inputs, target=...)")
    resolved = [resolve_target(t) for t in dict.fromkeys(targets)]
    level = check_level(level, "check_targets(level=...)")
    opts = validate({"uses": uses, "atol": atol, "rtol": rtol, "dynamic_shapes": dynamic_shapes,
                     **options}, "check_targets()")
    return run_call(model, example_inputs, [TargetCall(t, on_stage=on_stage) for t in resolved],
                    opts, level=level, example_kwargs=example_kwargs, name=name, store=store)


@dataclass(frozen=True)
class TargetCall:
    """One target of a call: the target, the test item it reports to, who sees its stages."""

    target: Target
    nodeid: str | None = None
    on_stage: Callable[[Stage], None] | None = None


def run_checked(
    model: torch.nn.Module,
    example_inputs: Any,
    target: Target,
    opts: CheckOptions,
    *,
    level: str = "full",
    example_kwargs: dict | None = None,
    name: str | None = None,
    nodeid: str | None = None,
    on_stage: Callable[[Stage], None] | None = None,
    store: ArtifactStore | str | Path | bool | None = None,
    prebuild: tuple[Target, ...] = (),
) -> CheckResult:
    """One target's `run_call`."""
    return run_call(model, example_inputs, [TargetCall(target, nodeid, on_stage)], opts,
                    level=level, example_kwargs=example_kwargs, name=name, store=store,
                    prebuild=prebuild)[0]


def run_call(
    model: torch.nn.Module,
    example_inputs: Any,
    calls: Sequence[TargetCall],
    opts: CheckOptions,
    *,
    level: str = "full",
    example_kwargs: dict | None = None,
    name: str | None = None,
    store: ArtifactStore | str | Path | bool | None = None,
    prebuild: tuple[Target, ...] = (),
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Check with options and targets already validated (`CheckOptions`, resolved `Target`s):
    the one entry the plugin, config models and `inferencecheck run` share; nothing here
    validates them again. What only the call shows (the model, its inputs, and
    `dynamic_shapes` against them) is checked here, before anything runs.

    The targets share one measurement of the facts per device (`sharing`); `prebuild` names
    further targets this model will be checked on later, whose artifacts a helper may build
    ahead. `on_result` sees each result as it is done (a later target's interruption loses
    none of the earlier ones). Results come back in the order of `calls`."""
    if not isinstance(model, torch.nn.Module):
        raise InferenceCheckError(
            f"model must be a torch.nn.Module, got {type(model).__name__}; wrap a function in a "
            "Module whose forward calls it")
    args = _as_args(example_inputs)
    if example_kwargs is not None and not isinstance(example_kwargs, dict):
        raise InferenceCheckError(
            f"example_kwargs must be a dict, got {type(example_kwargs).__name__}")
    kwargs = dict(example_kwargs or {})
    _reject_meta(model, args, kwargs)
    _check_dynamic_shapes(model, opts.dynamic_shapes, len(args) + len(kwargs))
    _check_ranks(model, opts.dynamic_shapes, args, kwargs)

    the_store = artifact_store(store)
    shared = SharedFacts()
    ahead = tuple(dict.fromkeys([*(c.target.id for c in calls), *(p.id for p in prebuild)]))
    by_device: dict[str, list[int]] = {}
    for i, c in enumerate(calls):
        by_device.setdefault(run_device(c.target), []).append(i)
    results: dict[int, CheckResult] = {}
    for device, indexes in by_device.items():
        notes: list[str] = []
        with _inference_setup(model, device, notes):  # once per device: state shared across
            for i in indexes:
                c = calls[i]
                others = () if results else tuple(t for t in ahead if t != c.target.id)
                result = results[i] = _check_one(model, args, kwargs, c, opts, level=level,
                                                 name=name, store=the_store, shared=shared,
                                                 device=device, prebuild=others)
                result.notes[:0] = [n for n in notes if n not in result.notes]
                if on_result is not None:
                    on_result(result)
    return [results[i] for i in range(len(calls))]


def _check_one(model: torch.nn.Module, args: tuple, kwargs: dict, call: TargetCall,
               opts: CheckOptions, *, level: str, name: str | None, store: ArtifactStore,
               shared: SharedFacts, device: str, prebuild: tuple[str, ...]) -> CheckResult:
    """One target of a call, its facts from `shared`."""
    t = call.target
    result = CheckResult(model=name or type(model).__name__, target=t.id, declared=opts.uses,
                         proxy=proxy_for(t), nodeid=call.nodeid,
                         identity=identity_of(name, call.nodeid, t.id), level=level)
    result.recommendation = pipeline.decide(t)  # rows 1, 2, 6, 8: failures can cite them
    if result.proxy and opts.require_device:
        result.failures.append(Failure(
            "device", f"{t.id} needs a {t.device} device and this host has none",
            "run on a machine with the device, or drop require_device to accept a host proxy"))
        return result

    to_device = (lambda x: x.to(device) if isinstance(x, torch.Tensor) else x)
    stages = Stages(call.on_stage)
    with tempfile.TemporaryDirectory(prefix="inferencecheck-") as tmp:
        job = Job(model, compat.pytree().tree_map(to_device, args),
                  compat.pytree().tree_map(to_device, kwargs), t, opts, device, store, stages,
                  result.model, Path(tmp), prebuild, level, shared)
        try:
            with torch_trace_to_torch_only(), deadline(opts.timeout_s, stages):
                pipeline.run(job, result)
        except CheckTimeout as exc:
            result.failures.append(Failure(
                "timeout", f"the check {exc}" + (f": the {exc.stage} stage did not finish"
                                                 if exc.stage else ""),
                "find what hangs (a forward that waits, a compile that never ends: rerun with "
                "-v to see the stages that finished), or raise timeout_s (marker option) or "
                "--inference-check-timeout for a model that needs longer"))
        except CheckFailed as failed:
            result.failures.extend(_at_forward(f, model) for f in failed.failures)
        except StageError as err:
            result.failures.append(_internal(err.exc) if isinstance(err.exc, InternalError)
                                   else _stage_failure(err, model))
        except InferenceCheckError:
            raise  # the caller's usage error: said as it is
        except Exception as exc:  # noqa: BLE001 - a bug of ours must not pass for a verdict
            result.failures.append(_internal(exc))
        finally:
            if "torch._dynamo" in sys.modules:  # never import Dynamo only to reset it
                torch.compiler.reset()
            store.release()
            result.stages = stages.stages
            result.artifacts = list(job.uses)
            result.notes.extend(n for n in [*job.notes, *store.notes] if n
                                and n not in result.notes)
    result.deviation = deviation(result.declared, result.recommendation)
    return result


def _stage_failure(err: StageError, model: torch.nn.Module) -> Failure:
    """A stage that raised: the host's fault (with what to do about the host), else the model's
    (with the stage's hint), at the user's line where there is one."""
    if isinstance(err.exc, Explained):  # said where it happened, with its evidence
        exc = err.exc
        return Failure(err.stage, str(exc), exc.hint, exc.file, exc.line, exc.details)
    where = err.where or (forward_location(model) if err.stage == "eager" else None)
    frames = user_traceback(err.exc)
    fault = host_fault(err.exc)
    message = full_message(err.exc) + (f"\n{frames}" if frames else "")
    hint = (fault[1] if fault else lower_hint(message, where is not None)
            if err.stage == "lower" else STAGE_HINTS.get(err.stage, ""))
    return Failure(err.stage, f"host fault, not the model's: {fault[0]}\n{message}" if fault
                   else message, hint, where.file if where else None,
                   where.line if where else None)


def _internal(exc: BaseException) -> Failure:
    """A bug of ours: said as one, with its traceback, never as the model's failure."""
    return Failure("internal", f"pytest-inferencecheck internal error (a bug of this tool, not "
                               f"of your model or host): {full_message(exc)}\n"
                               + "".join(traceback.format_exception(exc)).rstrip(),
                   "please report it with this message and traceback")


def _reject_meta(model: torch.nn.Module, args: tuple, kwargs: dict) -> None:
    """A model or input on the meta device has no data: nothing can run or be compared."""
    meta = [name for name, t in [*model.named_parameters(), *model.named_buffers()]
            if t.is_meta]
    leaves = [x for x in compat.pytree().tree_leaves((args, kwargs)) if isinstance(x, torch.Tensor)]
    if meta or any(x.is_meta for x in leaves):
        what = f"the model's {', '.join(meta[:3])}" + (" ..." if len(meta) > 3 else "") \
            if meta else "an example input"
        raise InferenceCheckError(
            f"{what} is on the meta device (shapes without data): nothing can run or be "
            "compared. Materialize it first (model.to_empty(device='cpu') and load or "
            "initialize the weights; real tensors as inputs)")


def _check_dynamic_shapes(model: torch.nn.Module, spec: Any, n_inputs: int) -> None:
    """dynamic_shapes must have torch.export's shape: a dict keyed by forward's argument names,
    or a tuple/list in argument order, each dimension a Dim, an int or None. A wrong one is a
    usage error at the call, never a model verdict (row 5)."""
    if spec is None:
        return
    if not isinstance(spec, (dict, tuple, list)):
        raise InferenceCheckError(
            f"dynamic_shapes must be a dict keyed by forward's argument names, or a tuple/list "
            f"in argument order (torch.export's form), got {type(spec).__name__} {spec!r}")
    if isinstance(spec, dict):
        _check_names(model, spec)
    elif len(spec) != n_inputs:
        raise InferenceCheckError(
            f"dynamic_shapes has {len(spec)} entries in argument order, and the model is "
            f"called with {n_inputs} input(s): give one entry (None for a static one) per "
            f"input, e.g. ({{0: Dim('batch')}},) for one tensor")
    bad = _bad_dim(spec)
    if bad is not None:
        raise InferenceCheckError(
            f"dynamic_shapes holds {bad!r} ({type(bad).__name__}): each dimension is a "
            f"torch.export.Dim (or Dim.AUTO / Dim.STATIC), an int or None, in a dict keyed by "
            f"dimension index or a tuple/list per dimension")


def _check_ranks(model: torch.nn.Module, spec: Any, args: tuple, kwargs: dict) -> None:
    """Each tensor input's spec names only dimensions it has: a dimension past its rank is a
    usage error here, not an export IndexError blamed on torch (or on us)."""
    if spec is None:
        return
    if isinstance(spec, dict):
        try:
            bound = inspect.signature(model.forward).bind_partial(*args, **kwargs).arguments
        except (TypeError, ValueError):
            return
        pairs = [(name, bound.get(name), dims) for name, dims in spec.items()]
    else:
        values = [*args, *kwargs.values()]
        pairs = [(f"input {i}", values[i] if i < len(values) else None, dims)
                 for i, dims in enumerate(spec)]
    for name, value, dims in pairs:
        if not isinstance(value, torch.Tensor) or dims is None:
            continue
        shape, rank = tuple(value.shape), value.dim()
        if isinstance(dims, dict):
            bad = [k for k in dims if isinstance(k, int) and not -rank <= k < rank]
            if bad:
                raise InferenceCheckError(
                    f"dynamic_shapes gives dimension {bad[0]} of {name!r}, a {rank}-D tensor "
                    f"of shape {shape} (its dimensions: 0 to {rank - 1}): key each dimension "
                    "by its index in the example input")
        elif isinstance(dims, (tuple, list)) and len(dims) != rank:
            raise InferenceCheckError(
                f"dynamic_shapes gives {len(dims)} dimensions for {name!r}, a {rank}-D tensor "
                f"of shape {shape}: give one entry per dimension (None for a static one), or "
                "a dict keyed by dimension index")


def _check_names(model: torch.nn.Module, spec: dict) -> None:
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = [k for k in spec if k not in params]
    if unknown:
        raise InferenceCheckError(
            f"dynamic_shapes names {', '.join(map(repr, unknown))}, which forward does not take; "
            f"its arguments: {', '.join(params) or 'none'}")


def _bad_dim(spec: Any) -> Any:
    """The first leaf of a dynamic_shapes spec that is not a dimension spec, or None."""
    if spec is None or (isinstance(spec, int) and not isinstance(spec, bool)):
        return None
    if isinstance(spec, dict):
        spec = list(spec.values())
    if isinstance(spec, (list, tuple)):
        return next((b for b in map(_bad_dim, spec) if b is not None), None)
    kind = spec if isinstance(spec, type) else type(spec)
    return None if kind.__module__.startswith("torch.export") else spec


def _at_forward(failure: Failure, model: torch.nn.Module) -> Failure:
    """An eager failure with no line of its own points at the model's forward."""
    where = forward_location(model) if failure.stage == "eager" and not failure.file else None
    return dataclasses.replace(failure, file=where.file, line=where.line) if where else failure



