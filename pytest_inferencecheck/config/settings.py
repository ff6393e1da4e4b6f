"""Run-wide settings: one definition per option, shared by the pytest plugin and the CLI.

Precedence, highest first: command line > environment (the on/off switch) > `[tool.inferencecheck]`
> default. A bad value names where it came from.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.recommendations.table import TARGETS, resolve_target
from pytest_inferencecheck.store.artifacts import ArtifactStore, parse_size

ENV_SWITCH = "INFERENCECHECK"
PYTEST_PREFIX = "--inference-check-"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Setting:
    """One run-wide option: its flag, config key, kind, default and help."""

    key: str  # config key and attribute name
    flag: str  # the pytest flag; the CLI drops its "--inference-check-" prefix
    kind: str  # "flag" | "targets" | "path" | "size" | "seconds" | "level"
    help: str
    default: Any = None
    env: str | None = None

    @property
    def dest(self) -> str:
        """The argparse destination (the same for pytest and the CLI, so `resolve` serves both)."""
        return self.flag.lstrip("-").replace("-", "_")

    def flag_for(self, prefix: str) -> str:
        """This option's flag under a prefix ("--inference-check-" in pytest, "--" in the CLI)."""
        return prefix + self.flag[len(PYTEST_PREFIX):] if self.flag.startswith(PYTEST_PREFIX) \
            else self.flag


SETTINGS: tuple[Setting, ...] = (
    Setting("enabled", "--inference-check", "flag",
            f"Run the deploy_target checks (also {ENV_SWITCH}=1 or `enabled = true` in "
            "[tool.inferencecheck]); default: off, marked tests are skipped", False, ENV_SWITCH),
    Setting("only", "--inference-check-only", "flag",
            "Run the inference checks and deselect every other test (implies "
            "--inference-check); default: off", False),
    Setting("targets", "--inference-check-target", "targets",
            "Only check these deployment targets (comma-separated, repeatable); default: all",
            ()),
    Setting("strict", "--inference-check-strict", "flag",
            "Fail on deviations from the table instead of warning; default: off", False),
    Setting("require_device", "--inference-check-require-device", "flag",
            "Fail targets whose device is missing here instead of checking a host proxy; "
            "default: off", False),
    Setting("json", "--inference-check-json", "path",
            "Write the inferencecheck-report/1 JSON report to PATH; default: none"),
    Setting("junit", "--inference-check-junit", "path",
            "Write a JUnit XML report (a suite per target) to PATH; default: none"),
    Setting("baseline", "--inference-check-baseline", "path",
            "Graph-break baseline file: more breaks than it accepts fail; default: none"),
    Setting("update_baseline", "--inference-check-update-baseline", "flag",
            "Rewrite the baseline from this run's graph breaks instead of gating on it; "
            "default: off", False),
    Setting("cache", "--inference-check-cache", "flag",
            "Keep built artifacts and their recorded runs in the artifact store and reuse them "
            "where their keys prove them unchanged; with --no-inference-check-cache nothing is "
            "kept between runs; default: on", True),
    Setting("cache_dir", "--inference-check-cache-dir", "path",
            "The artifact store's directory; default: $INFERENCECHECK_CACHE_DIR, else "
            "~/.cache/pytest-inferencecheck"),
    Setting("level", "--inference-check-level", "level",
            "quick: eager, graph breaks, export and the row, in seconds, with nothing compiled, "
            "lowered or run (pre-commit, pull requests); full: the whole path; default: full",
            "full", "INFERENCECHECK_LEVEL"),
    Setting("timeout", "--inference-check-timeout", "seconds",
            "Fail a check that runs longer than this many seconds (a hang in any stage ends as "
            "a failed 'timeout' stage, and the run goes on); marker option timeout_s overrides "
            "it; 0 turns it off; default: 1800", 1800.0),
    Setting("cache_size", "--inference-check-cache-size", "size",
            "Size cap of the artifact store (e.g. 5G); least recently used entries are pruned "
            "past it; default: 5G", "5G"),
)


def add_options(addoption: Callable[..., Any], prefix: str = PYTEST_PREFIX,
                keys: tuple[str, ...] | None = None) -> None:
    """Register settings with an argparse-like `addoption` (pytest's group or the CLI's)."""
    for s in SETTINGS:
        if keys is not None and s.key not in keys:
            continue
        flag = s.flag_for(prefix)
        if s.kind == "flag":
            addoption(flag, action="store_true", dest=s.dest, default=None, help=s.help)
            addoption("--no-" + flag[2:], action="store_false", dest=s.dest, default=None,
                      help=f"Turn {flag} off (overrides config and environment)")
        elif s.kind in ("path", "size", "seconds", "level"):
            addoption(flag, action="store", dest=s.dest, default=None,
                      metavar={"path": "PATH", "size": "SIZE", "level": "{full,quick}"}.get(
                          s.kind, "SECONDS"), help=s.help)
        else:
            addoption(flag, action="append", dest=s.dest, default=None, metavar="TARGET",
                      help=s.help)


@dataclass(frozen=True)
class Settings:
    """The resolved run-wide settings."""

    enabled: bool = False
    only: bool = False
    targets: tuple[str, ...] = ()
    strict: bool = False
    require_device: bool = False
    json: str | None = None
    junit: str | None = None
    baseline: str | None = None
    update_baseline: bool = False
    cache: bool = True
    cache_dir: str | None = None
    cache_size: int = 5 * 2**30
    timeout: float = 1800.0
    level: str = "full"

    def store(self, root: Path) -> Any:
        """The artifact store these settings describe (`cache_dir` relative to `root`)."""

        where = root / self.cache_dir if self.cache_dir else None
        return ArtifactStore(where, max_bytes=self.cache_size, persistent=self.cache)


def _path(value: Any, source: str, key: str) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise InferenceCheckError(f"{key}={value!r} from {source}: must be a file path")


def _size(value: Any, source: str, key: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise InferenceCheckError(f"{key}={value!r} from {source}: {exc}") from None


LEVELS = ("full", "quick")


def check_level(value: Any, where: str) -> str:
    """'full' or 'quick' (any case); anything else is a usage error naming `where`."""
    level = value.strip().lower() if isinstance(value, str) else value
    if level not in LEVELS:
        raise InferenceCheckError(f"{where}: the level must be one of {', '.join(LEVELS)}")
    return level


def _seconds(value: Any, source: str, key: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise InferenceCheckError(f"{key}={value!r} from {source}: must be a number of seconds "
                                  ">= 0 (0 turns it off)")
    return seconds


def _bool(value: Any, source: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InferenceCheckError(f"{key}={value!r} from {source}: must be true or false")


def _targets(value: Any, source: str, given: bool = True) -> tuple[str, ...]:
    """Target ids, resolved. Given but naming none (`--inference-check-target=`, a mistyped
    variable) is an error: it would silently mean every target."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InferenceCheckError(f"targets={value!r} from {source}: must be a list of targets")
    out: list[str] = []
    for item in items:
        for name in str(item).split(","):
            if name.strip():
                try:
                    out.append(resolve_target(name).id)
                except InferenceCheckError as exc:
                    raise InferenceCheckError(f"{exc} (from {source})") from None
    if given and not out:
        raise InferenceCheckError(
            f"targets={value!r} from {source} names no target; name at least one (valid: "
            f"{', '.join(TARGETS)}), or leave it out to check every target")
    return tuple(dict.fromkeys(out))


def resolve(cli: Mapping[str, Any], table: Mapping[str, Any], config_source: str,
            environ: Mapping[str, str] = os.environ) -> Settings:
    """Combine command line, environment and config table into Settings."""
    values: dict[str, Any] = {}
    for s in SETTINGS:
        raw, source = s.default, "the default"
        if s.key in table:
            raw, source = table[s.key], config_source
        if s.env and s.env in environ:
            raw, source = environ[s.env], f"environment variable {s.env}"
        if cli.get(s.dest) is not None:
            raw, source = cli[s.dest], f"command line {s.flag}"
        if s.kind == "flag":
            values[s.key] = _bool(raw, source, s.key)
        elif s.kind == "path":
            values[s.key] = _path(raw, source, s.key)
        elif s.kind == "size":
            values[s.key] = _size(raw, source, s.key)
        elif s.kind == "seconds":
            values[s.key] = _seconds(raw, source, s.key)
        elif s.kind == "level":
            values[s.key] = check_level(raw, f"{s.key}={raw!r} from {source}")
        else:
            values[s.key] = _targets(raw, source, given=source != "the default")
    if values["only"] and cli.get("enabled") is not False:
        values["enabled"] = True  # "check only the models" means: check them
    return Settings(**values)
