"""The `inferencecheck-report/1` JSON report (schema shipped in `schema/report-1.schema.json`)."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.reporters.base import FileReport
from pytest_inferencecheck.result import CheckResult, from_dict

SCHEMA_ID = "inferencecheck-report/1"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "report-1.schema.json"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _loaded_torch():
    """torch if this process imported it, else None. A report never imports torch itself: a
    torch that failed to import (a broken install, a half-finished import) fails again on a
    second import with an error that hides the first, and the report would be lost with it."""

    return sys.modules.get("torch")


def host() -> dict:
    """The machine the results were measured on (no CUDA where torch was never loaded)."""
    torch = _loaded_torch()
    cuda = False
    if torch is not None:
        try:
            cuda = bool(torch.cuda.is_available())
        except Exception:  # noqa: BLE001 - a torch without a working CUDA runtime has no CUDA
            cuda = False
    return {"machine": platform.machine(), "cuda": cuda}


def build(results: list[CheckResult], *, interrupted: bool = False) -> dict:
    """The whole report as a dict."""
    torch = _loaded_torch()
    torch_version = getattr(torch, "__version__", None) or _version("torch")
    return {"schema": SCHEMA_ID, "torch": torch_version, "executorch": _version("executorch"),
            "host": host(), "interrupted": interrupted,
            "results": [r.to_dict() for r in results]}


def render(results: Sequence[CheckResult], *, interrupted: bool = False,
           header: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> str:
    """The report as JSON text (`header` is the page's: a JSON report is the run's own;
    `extra`'s sections, `shard` or `sharded`, go in beside the results)."""
    data = build(list(results), interrupted=interrupted)
    data.update({k: v for k, v in (extra or {}).items() if k in ("shard", "sharded")})
    return json.dumps(data, indent=2) + "\n"


REPORT = FileReport("JSON report", "json", render, progress=True)
write = REPORT.write


def read(path: str | os.PathLike) -> tuple[dict, list[CheckResult]]:
    """A report read back: its header (everything but the results) and the results. Anything
    that is not an `inferencecheck-report/1` report is a usage error saying what it is."""
    where = f"JSON report {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InferenceCheckError(f"{where} does not exist; write one with "
                                  "--inference-check-json=PATH") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InferenceCheckError(f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}"
                                  ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InferenceCheckError(f"{where} is not JSON ({exc.msg} at line {exc.lineno}); is "
                                  "it a half-written or truncated file?") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise InferenceCheckError(f"{where} is not an {SCHEMA_ID} report (schema: {found!r})")
    entries = data.get("results")
    if not isinstance(entries, list):
        raise InferenceCheckError(f"{where} has no list of results")
    results = []
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for i, entry in enumerate(entries):
        wrong = _violation(entry, schema["$defs"]["result"], schema["$defs"], f"results[{i}]")
        if wrong is not None:  # named by the field, not by what reading it raised
            raise InferenceCheckError(f"{where}: {wrong}")
        try:
            results.append(from_dict(entry))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InferenceCheckError(f"{where}: results[{i}] is malformed ({type(exc).__name__}: "
                                      f"{exc})") from None
    return {k: v for k, v in data.items() if k != "results"}, results


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
          "integer": int, "number": (int, float)}


def _violation(value: object, schema: dict, defs: dict, path: str) -> str | None:
    """The first place `value` breaks the report's JSON Schema (the subset it uses: type,
    enum, const, required, properties, items, $ref), as `path: what is wrong`; None if none."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        ok = any(isinstance(value, _TYPES[k]) and not (k in ("integer", "number") and
                                                         isinstance(value, bool))
                 for k in kinds)
        if not ok:
            return f"{path} is {json.dumps(value)[:60]}, not {' or '.join(kinds)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path} is {json.dumps(value)[:60]}, not one of {schema['enum']}"
    if "const" in schema and value != schema["const"]:
        return f"{path} is {json.dumps(value)[:60]}, not {schema['const']!r}"
    if isinstance(value, dict):
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            return f"{path} has no {missing[0]!r}"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                wrong = _violation(value[key], sub, defs, f"{path}.{key}")
                if wrong:
                    return wrong
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            wrong = _violation(item, schema["items"], defs, f"{path}[{i}]")
            if wrong:
                return wrong
    return None
