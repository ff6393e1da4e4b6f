"""`[tool.inferencecheck]` in pyproject.toml: run settings and models declared without test code."""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pytest_inferencecheck.config.options import CheckOptions, validate
from pytest_inferencecheck.config.section import TABLE
from pytest_inferencecheck.errors import InferenceCheckError, reject_unknown_keys
from pytest_inferencecheck.recommendations.operators import operator_set
from pytest_inferencecheck.recommendations.table import resolve_target
from pytest_inferencecheck.support.locations import is_user_file

MODEL_KEYS = {"factory", "inputs", "targets", "options"}
_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


@dataclass
class ModelEntry:
    """A model declared in config: how to build it, its inputs, its targets and options."""

    name: str
    factory: str
    inputs: str | None
    targets: tuple[str, ...]
    options: CheckOptions

    @property
    def where(self) -> str:
        """The config table this entry came from, for error messages."""
        return f"[tool.inferencecheck.models.{self.name}]"


def model_entries(table: dict[str, Any], path: Path) -> list[ModelEntry]:
    """Validate every `[tool.inferencecheck.models.NAME]` entry; errors name the entry."""
    models = table.get("models", {})
    if not isinstance(models, dict):
        raise InferenceCheckError(f"{path}: {TABLE} 'models' must be a table of named models, "
                                  "e.g. [tool.inferencecheck.models.my_model]")
    return [_entry(name, raw, path) for name, raw in models.items()]


def _entry(name: str, raw: Any, path: Path) -> ModelEntry:
    where = f"{path}: [tool.inferencecheck.models.{name}]"
    if not isinstance(raw, dict):
        raise InferenceCheckError(f"{where} must be a table with factory and targets")
    reject_unknown_keys(raw, MODEL_KEYS, where)
    for key in ("factory", "targets"):
        if key not in raw:
            raise InferenceCheckError(f"{where}: missing required key {key!r}")
    for key in ("factory", "inputs"):
        if key in raw and (not isinstance(raw[key], str) or not _SPEC.match(raw[key])):
            raise InferenceCheckError(f"{where}: {key} must be 'package.module:function', "
                                      f"got {raw[key]!r}")
    targets = raw["targets"]
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list) or not targets:
        raise InferenceCheckError(f"{where}: targets must be a non-empty list")
    try:
        resolved = tuple(dict.fromkeys(resolve_target(t).id for t in targets))
        options = raw.get("options", {})
        if not isinstance(options, dict):
            raise InferenceCheckError("options must be a table")
        if options.get("executorch_operators") is not None:  # relative to this file
            options = {**options, "executorch_operators": operator_set(
                options["executorch_operators"], where, base=path.parent)}
        checked = validate(options, where)
    except InferenceCheckError as exc:
        raise InferenceCheckError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") \
            from None
    return ModelEntry(name, raw["factory"], raw.get("inputs"), resolved, checked)


def load_callable(spec: str, where: str, root: Path) -> Callable[..., Any]:
    """Import `package.module:function` (the config's folder is importable, as for conftest)."""
    module_name, _, attr = spec.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - a broken user module is the user's error to see
        raise InferenceCheckError(f"{where}: cannot import {module_name!r} for {spec!r}: "
                                  f"{type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InferenceCheckError(f"{where}: {module_name!r} has no attribute {attr!r} "
                                      f"(from {spec!r})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InferenceCheckError(f"{where}: {spec!r} is not callable")
    return obj


def _call(fn: Callable[..., Any], what: str) -> Any:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the user's code raised: say so, where

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
        where = "".join(traceback.format_list(frames)).rstrip()
        raise InferenceCheckError(f"{what} raised {type(exc).__name__}: {exc}"
                                  + (f"\n{where}" if where else "")) from None


def build_model(factory: Callable[..., Any], inputs: Callable[..., Any] | None, spec: str,
                where: str, how_to_add_inputs: str) -> tuple[Any, Any]:
    """Call a factory: (model, example_inputs) from it, or the model from it and inputs apart.
    A factory that raises is the user's error, shown with the user's frames, not ours."""
    built = _call(factory, f"{where}factory {spec!r}")
    if inputs is not None:
        return built, _call(inputs, f"{where}inputs function")
    if isinstance(built, tuple) and len(built) == 2:
        return built
    raise InferenceCheckError(
        f"{where}factory {spec!r} returned {type(built).__name__}; it must return "
        f"(model, example_inputs), or {how_to_add_inputs}")
