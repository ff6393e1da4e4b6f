"""Model outputs as named leaves, and their comparison: every leaf, any nesting, against eager."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

import torch

from pytest_inferencecheck.result import Mismatch, Numerics
from pytest_inferencecheck.support.locations import display_path

SCALARS = (bool, int, float, complex, str, bytes, torch.dtype, torch.device, torch.Size)
_MAX_DEPTH = 12


def leaves(obj: Any, path: str = "output") -> list[tuple[str, Any]]:
    """Flatten an output into (path, leaf) pairs.

    Tensors and Python scalars are leaves; tuples, lists, dicts (Hugging Face `ModelOutput`
    included), dataclasses and other objects holding tensors (e.g. a `DynamicCache`) are walked.
    `None` carries no value and is dropped, as `ModelOutput` itself does. A sparse tensor (COO,
    CSR, ...) is compared by its values: it is a leaf as the dense tensor it stands for.
    """
    out: list[tuple[str, Any]] = []
    _walk(obj, path, out, set(), 0)
    return out


def _walk(obj: Any, path: str, out: list, seen: set[int], depth: int) -> None:
    if obj is None:
        return
    if isinstance(obj, torch.Tensor) and obj.layout != torch.strided:
        out.append((path, obj.to_dense()))
        return
    if isinstance(obj, (torch.Tensor, *SCALARS)):
        out.append((path, obj))
        return
    if id(obj) in seen or depth > _MAX_DEPTH:
        return
    seen.add(id(obj))
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _walk(v, f"{path}[{k!r}]", out, seen, depth + 1)
    elif isinstance(obj, (tuple, list)):
        for i, v in enumerate(obj):
            _walk(v, f"{path}[{i}]", out, seen, depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _walk(getattr(obj, f.name), f"{path}.{f.name}", out, seen, depth + 1)
    elif hasattr(obj, "__dict__") and not callable(obj):
        for k, v in vars(obj).items():
            if not k.startswith("_"):
                _walk(v, f"{path}.{k}", out, seen, depth + 1)
    else:
        out.append((path, obj))  # opaque: reported as not comparable


def non_finite(outputs: list[tuple[str, Any]]) -> list[str]:
    """Paths of floating-point leaves that hold NaN or infinity."""
    bad = []
    for path, v in outputs:
        if isinstance(v, torch.Tensor) and (v.is_floating_point() or v.is_complex()):
            if not bool(torch.isfinite(v).all()):
                bad.append(path)
        elif isinstance(v, float) and not math.isfinite(v):
            bad.append(path)
    return bad


_CHUNK = 1 << 22  # elements widened at a time: a large output is never copied whole in float64


def _tensor_errors(actual: torch.Tensor, expected: torch.Tensor, atol: float,
                   rtol: float) -> tuple[float, float, bool]:
    """Max abs and rel error, and allclose (equal NaNs and equal infinities count as equal)."""
    if actual.numel() == 0:
        return 0.0, 0.0, True
    wide = torch.complex128 if actual.is_complex() or expected.is_complex() else torch.float64
    flat_a = actual.detach().reshape(-1)
    flat_e = expected.detach().reshape(-1)
    abs_err = rel_err = 0.0
    close = True
    for start in range(0, flat_a.numel(), _CHUNK):
        a = flat_a[start:start + _CHUNK].to("cpu", wide)
        e = flat_e[start:start + _CHUNK].to("cpu", wide)
        same = (a == e) | (torch.isnan(a) & torch.isnan(e))
        diff = torch.where(same, 0.0, (a - e).abs())
        close = close and bool((same | (diff <= atol + rtol * e.abs())).all())  # 0*inf: NaN
        rel = torch.where(diff == 0, 0.0, diff / e.abs().clamp_min(torch.finfo(torch.float64).tiny))
        abs_err, rel_err = _worst(abs_err, float(diff.max())), _worst(rel_err, float(rel.max()))
    return abs_err, rel_err, close


def _worst(a: float, b: float) -> float:
    """The larger error, NaN winning as it does in `Tensor.max`."""
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


def _compare_leaf(path: str, actual: Any, expected: Any, atol: float, rtol: float,
                  numerics: Numerics) -> None:
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            numerics.mismatches.append(Mismatch(path, f"expected a tensor, got {type(actual).__name__}"))
            return
        if actual.shape != expected.shape:
            numerics.mismatches.append(Mismatch(
                path, f"shape {tuple(actual.shape)} differs from eager's {tuple(expected.shape)}"))
            return
        if actual.dtype != expected.dtype:
            numerics.notes.append(f"{path}: dtype {actual.dtype} differs from eager's {expected.dtype}")
        abs_err, rel_err, close = _tensor_errors(actual, expected, atol, rtol)
    elif isinstance(expected, (int, float, complex)) and not isinstance(expected, bool):
        if not isinstance(actual, (int, float, complex)) or isinstance(actual, bool):
            numerics.mismatches.append(Mismatch(path, f"expected a number, got {type(actual).__name__}"))
            return
        abs_err = abs(actual - expected)
        rel_err = abs_err / abs(expected) if expected else (0.0 if abs_err == 0 else math.inf)
        close = abs_err <= atol + rtol * abs(expected)
    elif isinstance(expected, SCALARS):
        abs_err = rel_err = 0.0 if actual == expected else math.inf
        close = actual == expected
        if not close:
            numerics.mismatches.append(Mismatch(path, f"{actual!r} differs from eager's {expected!r}"))
            return
    else:
        numerics.notes.append(f"{path}: {type(expected).__name__} is not a tensor; not compared")
        return
    numerics.compared += 1
    numerics.max_abs_err = max(numerics.max_abs_err, abs_err)
    numerics.max_rel_err = max(numerics.max_rel_err, rel_err)
    if not close:
        exact = isinstance(expected, torch.Tensor) and not (
            expected.is_floating_point() or expected.is_complex())
        text = (_differing_elements(actual, expected) if exact else
                f"beyond tolerance: max abs err {abs_err:.3g}, max rel err {_rel(rel_err)} "
                f"(atol={atol:g}, rtol={rtol:g})")
        numerics.mismatches.append(Mismatch(path, text, abs_err, rel_err))


def _rel(rel_err: float) -> str:
    """A relative error as people read it: one against an eager value of 0 is unbounded, not
    the 1e308 that dividing by the smallest float gives."""
    return "unbounded (eager is 0 where they differ)" if rel_err > 1e300 else f"{rel_err:.3g}"


def _differing_elements(actual: torch.Tensor, expected: torch.Tensor) -> str:
    """Integer and boolean outputs (indices, token ids, masks) are exact: how many elements
    differ, and the first one, rather than a relative error."""
    differ = (actual.detach().cpu().reshape(-1) != expected.detach().cpu().reshape(-1))
    count = int(differ.sum())
    first = int(differ.nonzero()[0, 0]) if count else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(first), expected.shape))
    got = actual.detach().cpu().reshape(-1)[first].item()
    want = expected.detach().cpu().reshape(-1)[first].item()
    return (f"{count} of {expected.numel()} elements differ from eager ({expected.dtype}: exact); "
            f"first at {list(index)}: {got!r} where eager has {want!r}")


def compare(actual: Any, expected: Any, *, atol: float, rtol: float) -> Numerics:
    """Compare every leaf of `actual` with `expected` (eager) using allclose semantics."""
    return compare_leaves(leaves(actual), leaves(expected), atol=atol, rtol=rtol)


def compare_leaves(got: list[tuple[str, Any]], want: list[tuple[str, Any]], *, atol: float,
                   rtol: float) -> Numerics:
    """`compare` on outputs already flattened by `leaves` (e.g. outputs read from the store)."""
    numerics = Numerics(ok=True, max_abs_err=0.0, max_rel_err=0.0, atol=atol, rtol=rtol)
    got_paths, want_paths = [p for p, _ in got], [p for p, _ in want]
    if got_paths != want_paths:
        if len(got) == len(want):
            # e.g. an artifact that returns a flat tuple where eager returned a ModelOutput
            numerics.notes.append("output structure differs from eager's; leaves compared in order")
            got = [(p, v) for (p, _), (_, v) in zip(want, got)]
        else:
            missing = sorted(set(want_paths) - set(got_paths))
            extra = sorted(set(got_paths) - set(want_paths))
            numerics.mismatches.append(Mismatch(
                "output", f"{len(got)} output leaves where eager has {len(want)}"
                          + (f"; missing {', '.join(missing[:5])}" if missing else "")
                          + (f"; unexpected {', '.join(extra[:5])}" if extra else "")))
            numerics.ok = False
            return numerics
    for (path, a), (_, e) in zip(got, want):
        _compare_leaf(path, a, e, atol, rtol, numerics)
    if numerics.compared == 0 and not numerics.mismatches:
        numerics.notes.append("no tensor or number in the outputs: nothing was compared")
    numerics.ok = not numerics.mismatches
    return numerics


# ATen's random number generators: inductor draws from its own generator (Philox), not eager's,
# so a compiled artifact's random draws differ from eager's even after the same manual_seed.
_RANDOM = ("rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
           "bernoulli", "multinomial", "normal", "uniform", "exponential", "geometric",
           "cauchy", "log_normal", "native_dropout", "dropout", "poisson", "random")


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_DROPOUTS = ("dropout", "native_dropout", "feature_dropout", "alpha_dropout",
             "feature_alpha_dropout")


def _draws(node: Any, name: str) -> bool:
    """Whether the call draws random numbers: a dropout exported in eval mode (`train` False,
    as a Hugging Face model's in `eval()`) or with p == 0 returns its input and draws none."""
    if name.rstrip("_") not in _DROPOUTS:
        return True
    args = [*node.args, None, None, None][:3]
    p, train = node.kwargs.get("p", args[1]), node.kwargs.get("train", args[2])
    return not (train is False or p == 0)


def random_ops(program: Any) -> list[str]:
    """The random-number ops an exported program calls (`aten.randn`, ...), each once, with the
    user line that calls it where the node records one."""
    found: dict[str, str] = {}
    modules = [program.graph_module] if hasattr(program, "graph_module") else []
    while modules:
        gm = modules.pop()
        modules.extend(m for m in gm.children() if isinstance(m, torch.fx.GraphModule))
        for node in gm.graph.nodes:
            if node.op != "call_function":
                continue
            packet = getattr(node.target, "_overloadpacket", None)
            name = getattr(packet, "__name__", "") or ""
            if name.rstrip("_") in _RANDOM and name not in found and _draws(node, name):
                frames = _FRAME.findall(node.meta.get("stack_trace") or "")
                where = f"{display_path(frames[-1][0])}:{frames[-1][1]}" if frames else ""
                found[name] = f"aten.{name}" + (f" at {where}" if where else "")
    return list(found.values())
