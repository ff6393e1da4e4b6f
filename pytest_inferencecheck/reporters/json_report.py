"""The `inferencecheck-report/1` JSON report (schema shipped in `schema/report-1.schema.json`)."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.result import CheckResult, from_dict
from pytest_inferencecheck.support.files import write_atomic

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


def write(path: str | os.PathLike, results: list[CheckResult], *, interrupted: bool = False,
          durable: bool = True) -> Path:
    """Write the report atomically (a half-written report must never be read by CI)."""
    return write_atomic(path, json.dumps(build(results, interrupted=interrupted), indent=2)
                        + "\n", what="JSON report",
                        durable=durable)


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
    for i, entry in enumerate(entries):
        try:
            results.append(from_dict(entry))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InferenceCheckError(f"{where}: results[{i}] is malformed ({type(exc).__name__}: "
                                      f"{exc})") from None
    return {k: v for k, v in data.items() if k != "results"}, results
