"""Check options: one `Knob` each (the registry: default, command-line form, help, validation),
validated once, with errors that name where a value came from (a marker, a config table, the
command line)."""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_inferencecheck.config.registry import Form, Knob, Validator, add_arguments
from pytest_inferencecheck.config.settings import SETTINGS, Settings
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.recommendations.operators import OperatorSet, operator_set
from pytest_inferencecheck.recommendations.partitioners import validate_partitioners
from pytest_inferencecheck.recommendations.table import resolve_technology


def _number(*, low: float = 0.0, high: float | None = None, integer: bool = False,
            strict_low: bool = False) -> Validator:
    def check(name: str, value: Any, source: str) -> Any:
        ok_type = (int,) if integer else (int, float)
        bad = isinstance(value, bool) or not isinstance(value, ok_type)
        if not bad:
            bad = not math.isfinite(value) or (value <= low if strict_low else value < low)
            bad = bad or (high is not None and value > high)
        if bad:
            kind = "an integer" if integer else "a finite number"
            bounds = f"> {low:g}" if strict_low else f">= {low:g}"
            if high is not None:
                bounds += f" and <= {high:g}"
            raise InferenceCheckError(f"{name}={value!r} from {source}: must be {kind} {bounds}")
        return value if integer else float(value)

    return check


def _flag(name: str, value: Any, source: str) -> bool:
    if not isinstance(value, bool):
        raise InferenceCheckError(f"{name}={value!r} from {source}: must be True or False")
    return value


def _names(name: str, value: Any, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InferenceCheckError(f"{name}={value!r} from {source}: must be a list of names")
    return tuple(value)


def _technology(name: str, value: Any, source: str) -> str:
    return resolve_technology(value)


def _backends(name: str, value: Any, source: str) -> tuple[str, ...]:
    names = _names(name, value, source)
    if not names:
        return ()
    import torch.compiler  # noqa: PLC0415 - defers torch; only when backends are named: Dynamo is slow to import

    available = set(torch.compiler.list_backends(exclude_tags=()))
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InferenceCheckError(
            f"torch.compile backend(s) {', '.join(map(repr, unknown))} from {source} are not "
            f"registered here; available: {', '.join(sorted(available))}")
    return tuple(dict.fromkeys(names))


def _partitioners(name: str, value: Any, source: str) -> tuple[str, ...]:
    return tuple(validate_partitioners(_names(name, value, source)))


def _operators(name: str, value: Any, source: str) -> OperatorSet:
    return operator_set(value, source)


def _any(name: str, value: Any, source: str) -> Any:
    return value


_FORMS: dict[type | None, Form | None] = {bool: "flag", list: "list", None: None}


def option(default: Any, help: str, validate: Validator, cli: type | None = None) -> Any:
    """One check option: its default, its help, how a value is checked, and its command-line
    type (None: Python API, marker and config only). The field's `Knob` is made from these."""
    return dataclasses.field(default=default, metadata={"knob": Knob(
        "", "check", default, help, validate, _FORMS.get(cli, "value"),
        convert=cli if cli not in _FORMS else None)})


@dataclass(frozen=True)
class CheckOptions:
    """Everything that tunes one check besides the model, its inputs and the target."""

    uses: str | None = option(
        None, "The technology you deploy with; a different recommendation is a deviation",
        _technology, str)
    atol: float = option(1e-4, "Absolute tolerance against eager; default: 1e-4", _number(),
                         float)
    rtol: float = option(1e-4, "Relative tolerance against eager; default: 1e-4", _number(),
                         float)
    dynamic_shapes: Any = option(None, "torch.export dynamic_shapes (Python objects: API and "
                                       "marker only)", _any)
    strict_export: bool = option(False, "Export with strict=True; default: non-strict", _flag,
                                 bool)
    require_device: bool = option(False, "Fail instead of checking on a host proxy when the "
                                         "target's device is missing; default: off", _flag)
    max_graph_breaks: int | None = option(
        None, "Fail when the graph breaks on any target exceed this, counted both as distinct "
              "sites and as torch._dynamo.explain counts them; default: none",
        _number(integer=True), int)
    backends: tuple[str, ...] = option(
        (), "torch.compile backends to race against inductor (row 7), comma-separated; "
            "default: none", _backends, list)
    executorch_partitioners: tuple[str, ...] = option(
        ("xnnpack",), "ExecuTorch partitioners, comma-separated; default: xnnpack",
        _partitioners, list)
    min_delegation: float | None = option(
        None, "Fail below this fraction of nodes delegated (0-1); default: none",
        _number(high=1.0), float)
    executorch_operators: OperatorSet | None = option(
        None, "The app's ExecuTorch operator set (selected_operators.yaml, a functions.yaml or "
              "a comma-separated list; a relative path from the working directory, or from the "
              "pyproject.toml of a config entry): fail where the .pte needs an operator outside "
              "it; default: none (the operators are listed)", _operators, str)
    max_pte_bytes: int | None = option(None, "Fail when the .pte is larger; default: none",
                                       _number(integer=True, strict_low=True), int)
    cpp_timeout_s: float = option(300.0, "Kill the C++ runner after this many seconds; "
                                         "default: 300", _number(strict_low=True), float)
    timeout_s: float | None = option(
        None, "Fail the check as timed out after this many seconds, whatever stage hangs; "
              "default: the run's --inference-check-timeout (1800)", _number(strict_low=True))

    def for_run(self, settings: Settings) -> CheckOptions:
        """These options as the run's settings complete them: its `require_device` adds to this
        check's, its timeout applies where the check names none. Typed, never re-validated."""
        return dataclasses.replace(
            self, require_device=self.require_device or settings.require_device,
            timeout_s=self.timeout_s if self.timeout_s is not None else settings.timeout or None)

    def overridden(self, values: dict[str, Any], source: str) -> CheckOptions:
        """These options with `values` (validated, each by its option) in place of theirs."""
        return dataclasses.replace(self, **_validated(values, source))


CHECK_KNOBS: tuple[Knob, ...] = tuple(
    dataclasses.replace(f.metadata["knob"], name=f.name) for f in dataclasses.fields(CheckOptions))
KNOBS = {k.name: k for k in CHECK_KNOBS}
OPTION_NAMES = tuple(KNOBS)


def add_cli_options(addoption: Callable[..., Any]) -> None:
    """Register the options that have a command-line form (`--atol`, `--backends`, ...)."""
    add_arguments(addoption, CHECK_KNOBS, prefix="--")


def from_namespace(namespace: Any, source: str) -> CheckOptions:
    """CheckOptions from parsed command-line arguments (unset ones keep their defaults)."""
    given = {k.name: getattr(namespace, k.dest) for k in CHECK_KNOBS
             if k.form is not None and getattr(namespace, k.dest, None) is not None}
    return validate(given, source)


def validate(values: dict[str, Any], source: str = "check()") -> CheckOptions:
    """CheckOptions from a mapping (marker kwargs, config table, keyword arguments).

    None keeps an option's default; every other value goes through the option's validator.
    This and `overridden` are the only places an option's value is validated.
    """
    return CheckOptions(**_validated(values, source))


def _validated(values: dict[str, Any], source: str) -> dict[str, Any]:
    """The given (not None) values, each through its option's validator; unknown names listed."""
    unknown = [k for k in values if k not in KNOBS]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, OPTION_NAMES, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise InferenceCheckError(f"unknown option {', '.join(hints)} from {source}; valid "
                                  f"options: {', '.join(OPTION_NAMES)}")
    return {name: KNOBS[name].validate(name, value, source)
            for name, value in values.items() if value is not None}


#: Every knob, run-wide and per check: the one registry the docs, the config file and the
#: front ends read.
REGISTRY: tuple[Knob, ...] = SETTINGS + CHECK_KNOBS
