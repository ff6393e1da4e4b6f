"""Check options: one definition, validated once, with errors that name where a value came from."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import InferenceCheckError
from .settings import Settings
from .table import resolve_technology


@dataclass(frozen=True)
class CheckOptions:
    """Everything that tunes one check besides the model, its inputs and the target."""

    uses: str | None = None
    atol: float = 1e-4
    rtol: float = 1e-4
    dynamic_shapes: Any = None
    strict_export: bool = False
    require_device: bool = False
    max_graph_breaks: int | None = None
    backends: tuple[str, ...] = ()
    executorch_partitioners: tuple[str, ...] = ("xnnpack",)
    min_delegation: float | None = None
    max_pte_bytes: int | None = None
    cpp_timeout_s: float = 300.0

    def check_kwargs(self, settings: Settings | None = None) -> dict[str, Any]:
        """These options as keyword arguments of `check()`; a run's `require_device` adds to them."""
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if settings is not None:
            kwargs["require_device"] = kwargs["require_device"] or settings.require_device
        return kwargs


OPTION_NAMES = tuple(f.name for f in dataclasses.fields(CheckOptions))

# How each option is given on a command line (dynamic_shapes needs Python objects: API only).
CLI_OPTIONS: dict[str, tuple[Any, str]] = {
    "uses": (str, "The technology you deploy with; a different recommendation is a deviation"),
    "atol": (float, "Absolute tolerance against eager; default: 1e-4"),
    "rtol": (float, "Relative tolerance against eager; default: 1e-4"),
    "strict_export": (bool, "Export with strict=True; default: non-strict"),
    "max_graph_breaks": (int, "Fail above this many graph breaks on any target; default: none"),
    "backends": (list, "torch.compile backends to race against inductor (row 7), "
                       "comma-separated; default: none"),
    "executorch_partitioners": (list, "ExecuTorch partitioners, comma-separated; "
                                      "default: xnnpack"),
    "min_delegation": (float, "Fail below this fraction of nodes delegated (0-1); default: none"),
    "max_pte_bytes": (int, "Fail when the .pte is larger; default: none"),
    "cpp_timeout_s": (float, "Kill the C++ runner after this many seconds; default: 300"),
}


def add_cli_options(addoption: Callable[..., Any]) -> None:
    """Register the check options with an argparse parser (`--atol`, `--backends`, ...)."""
    for name, (kind, help_text) in CLI_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            addoption(flag, action="store_true", dest=name, default=None, help=help_text)
        elif kind is list:
            addoption(flag, dest=name, default=None, metavar="A,B",
                      type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
                      help=help_text)
        else:
            addoption(flag, dest=name, default=None, type=kind, help=help_text)


def from_namespace(namespace: Any, source: str) -> CheckOptions:
    """CheckOptions from parsed CLI arguments (unset ones keep their defaults)."""
    given = {n: getattr(namespace, n) for n in CLI_OPTIONS if getattr(namespace, n, None) is not None}
    return validate(given, source)


def _number(name: str, value: Any, source: str, *, low: float = 0.0, high: float | None = None,
            integer: bool = False, strict_low: bool = False) -> Any:
    ok_type = (int,) if integer else (int, float)
    bad = isinstance(value, bool) or not isinstance(value, ok_type)
    if not bad:
        bad = value <= low if strict_low else value < low
        bad = bad or (high is not None and value > high)
    if bad:
        kind = "an integer" if integer else "a number"
        bounds = f"> {low:g}" if strict_low else f">= {low:g}"
        if high is not None:
            bounds += f" and <= {high:g}"
        raise InferenceCheckError(f"{name}={value!r} from {source}: must be {kind} {bounds}")
    return value if integer else float(value)


def _names(name: str, value: Any, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InferenceCheckError(f"{name}={value!r} from {source}: must be a list of names")
    return tuple(value)


def validate(values: dict[str, Any], source: str = "check()") -> CheckOptions:
    """Build CheckOptions from a mapping (marker kwargs, config table, keyword arguments)."""
    unknown = [k for k in values if k not in OPTION_NAMES]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, OPTION_NAMES, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise InferenceCheckError(f"unknown option {', '.join(hints)} from {source}; valid "
                                  f"options: {', '.join(OPTION_NAMES)}")
    v = dict(values)
    out: dict[str, Any] = {}
    if v.get("uses") is not None:
        out["uses"] = resolve_technology(v["uses"])
    for name in ("atol", "rtol"):
        if name in v:
            out[name] = _number(name, v[name], source)
    for name in ("strict_export", "require_device"):
        if name in v:
            if not isinstance(v[name], bool):
                raise InferenceCheckError(f"{name}={v[name]!r} from {source}: must be True or False")
            out[name] = v[name]
    if v.get("max_graph_breaks") is not None:
        out["max_graph_breaks"] = _number("max_graph_breaks", v["max_graph_breaks"], source,
                                          integer=True)
    if v.get("backends") is not None:
        names = _names("backends", v["backends"], source)
        out["backends"] = _validate_backends(names, source) if names else ()
    if v.get("executorch_partitioners") is not None:
        from .runners.executorch import validate_partitioners

        out["executorch_partitioners"] = tuple(validate_partitioners(
            _names("executorch_partitioners", v["executorch_partitioners"], source)))
    if v.get("min_delegation") is not None:
        out["min_delegation"] = _number("min_delegation", v["min_delegation"], source, high=1.0)
    if v.get("max_pte_bytes") is not None:
        out["max_pte_bytes"] = _number("max_pte_bytes", v["max_pte_bytes"], source, integer=True,
                                       strict_low=True)
    if "cpp_timeout_s" in v:
        out["cpp_timeout_s"] = _number("cpp_timeout_s", v["cpp_timeout_s"], source,
                                       strict_low=True)
    if v.get("dynamic_shapes") is not None:
        out["dynamic_shapes"] = v["dynamic_shapes"]
    return CheckOptions(**out)


def _validate_backends(names: tuple[str, ...], source: str) -> tuple[str, ...]:
    import torch._dynamo

    available = set(torch._dynamo.list_backends(exclude_tags=()))
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InferenceCheckError(
            f"torch.compile backend(s) {', '.join(map(repr, unknown))} from {source} are not "
            f"registered here; available: {', '.join(sorted(available))}")
    return tuple(dict.fromkeys(names))
