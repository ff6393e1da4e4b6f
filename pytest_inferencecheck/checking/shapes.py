"""A second input shape for models exported with `dynamic_shapes` (a `.pt2` does not check shapes).

New inputs are cut from or grown out of the example inputs along each dynamic dimension, so
their values stay valid for the model (token ids stay within the vocabulary, masks stay 0/1).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch


def _is_dynamic(spec: Any) -> bool:
    if spec is None:
        return False
    static = getattr(getattr(torch.export, "Dim", None), "STATIC", object())
    return spec is not static and not isinstance(spec, int)


def _bounds(spec: Any) -> tuple[int, int]:
    low = getattr(spec, "min", None)
    high = getattr(spec, "max", None)
    return (low if isinstance(low, int) else 2), (high if isinstance(high, int) else 2**31)


def _dims(spec: Any) -> dict[int, Any]:
    """The dynamic dimensions of one tensor's spec ({dim: Dim} or [Dim | None, ...])."""
    if isinstance(spec, dict):
        return {int(d): s for d, s in spec.items() if _is_dynamic(s)}
    if isinstance(spec, (list, tuple)):
        return {d: s for d, s in enumerate(spec) if _is_dynamic(s)}
    return {}


def _resize(x: torch.Tensor, dims: dict[int, Any], sizes: dict[Any, int]) -> torch.Tensor:
    for d, spec in dims.items():
        new = sizes.setdefault(id(spec), _new_size(x.shape[d], spec))
        if new < x.shape[d]:
            x = x.narrow(d, 0, new)
        elif new > x.shape[d]:
            reps = -(-new // x.shape[d])
            x = torch.cat([x] * reps, dim=d).narrow(d, 0, new)
    return x


def _new_size(size: int, spec: Any) -> int:
    low, high = _bounds(spec)
    if size - 1 >= max(low, 2):
        return size - 1
    if size + 1 <= high:
        return size + 1
    return size


def second_shape(model: torch.nn.Module, args: tuple, kwargs: dict,
                 dynamic_shapes: Any) -> tuple[tuple, dict, str] | None:
    """Inputs at another size for every dynamic dimension, with a description; None if none."""
    if dynamic_shapes is None:
        return None
    if isinstance(dynamic_shapes, dict):  # keyed by forward's parameter names
        params = list(inspect.signature(model.forward).parameters)
        named = dict(zip(params, args)) | kwargs
        specs = [(k, dynamic_shapes.get(k)) for k in named]
    else:
        named = {str(i): a for i, a in enumerate(args)}
        specs = [(str(i), s) for i, s in enumerate(dynamic_shapes)]
    sizes: dict[Any, int] = {}  # one Dim shared by several inputs gets one new size
    new = dict(named)
    for key, spec in specs:
        value = named.get(key)
        if isinstance(value, torch.Tensor) and _dims(spec):
            new[key] = _resize(value, _dims(spec), sizes)
    changed = [k for k in named if isinstance(named[k], torch.Tensor)
               and new[k].shape != named[k].shape]
    if not changed:
        return None
    if isinstance(dynamic_shapes, dict):
        params = list(inspect.signature(model.forward).parameters)
        new_args = tuple(new[p] for p in params[: len(args)])
        new_kwargs = {k: new[k] for k in kwargs}
    else:
        new_args, new_kwargs = tuple(new[str(i)] for i in range(len(args))), dict(kwargs)
    desc = ", ".join(f"{k}: {tuple(named[k].shape)} -> {tuple(new[k].shape)}" for k in changed)
    return new_args, new_kwargs, desc
