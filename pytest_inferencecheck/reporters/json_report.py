"""The `inferencecheck-report/1` JSON report (schema shipped in `schema/report-1.schema.json`)."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path

from ..result import CheckResult

SCHEMA_ID = "inferencecheck-report/1"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "report-1.schema.json"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def host() -> dict:
    """The machine the results were measured on."""
    cuda = False
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return {"machine": platform.machine(), "cuda": cuda}


def build(results: list[CheckResult]) -> dict:
    """The whole report as a dict."""
    torch_version = None
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    return {"schema": SCHEMA_ID, "torch": torch_version, "executorch": _version("executorch"),
            "host": host(), "results": [r.to_dict() for r in results]}


def write(path: str | os.PathLike, results: list[CheckResult]) -> Path:
    """Write the report atomically (a half-written report must never be read by CI)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(build(results), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, target)
    return target
