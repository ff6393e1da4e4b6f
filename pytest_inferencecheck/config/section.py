"""`[tool.inferencecheck]` read from a pyproject.toml: the TOML parser, the table and its keys.

Light on purpose: the linter reads its own settings here without the check options' validators
(which reach torch for backend names) or the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pytest_inferencecheck.config.settings import SETTINGS
from pytest_inferencecheck.errors import InferenceCheckError, reject_unknown_keys

try:  # Python 3.11+
    import tomllib
except ImportError:  # 3.10: the lint hook may run on a bare python3 without tomli
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

TABLE = "[tool.inferencecheck]"
SECTION_KEYS = {s.name for s in SETTINGS} | {"models", "lint"}


def tool_table(path: Path) -> dict[str, Any] | None:
    """The `[tool.inferencecheck]` table of a pyproject.toml; None if it has none. A file that
    never mentions inferencecheck is not parsed, so Python 3.10 without tomli reads it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InferenceCheckError(f"{path}: cannot be read: {exc}") from None
    if b"inferencecheck" not in data:
        return None
    if tomllib is None:  # pragma: no cover - exercised with tomllib hidden (tests/lint/test_lint_cli)
        raise InferenceCheckError(
            f"{path} mentions inferencecheck, and reading its {TABLE} table needs a TOML "
            f"parser this Python {sys.version_info[0]}.{sys.version_info[1]} does not have: "
            f"`{sys.executable} -m pip install tomli`, or run with Python 3.11+")
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:  # its message ends with "(at line N, column M)"
        raise InferenceCheckError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InferenceCheckError(f"{path}: cannot be read: {exc}") from None
    tool = parsed.get("tool", {})
    if not isinstance(tool, dict) or "inferencecheck" not in tool:
        return None
    if not isinstance(tool["inferencecheck"], dict):
        raise InferenceCheckError(f"{path}: {TABLE} must be a table")
    return tool["inferencecheck"]


def read_table(path: Path, *, check_keys: bool = True) -> dict[str, Any]:
    """The `[tool.inferencecheck]` table of a pyproject.toml ({} if absent); clear TOML errors."""
    table = tool_table(path) or {}
    if check_keys:
        reject_unknown_keys(table, SECTION_KEYS, f"{path}: {TABLE}")
    return table
