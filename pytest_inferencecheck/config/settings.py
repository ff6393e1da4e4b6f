"""Run-wide settings: one `Knob` each (the registry), shared by the pytest plugin and the CLI.

Precedence, highest first: command line > environment (the on/off switch) > `[tool.inferencecheck]`
> default. A bad value names where it came from.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_inferencecheck.config.registry import (
    PYTEST_PREFIX,
    Form,
    Knob,
    Validator,
    add_arguments,
)
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.recommendations.table import TARGETS, resolve_target
from pytest_inferencecheck.support.remote_url import check_url
from pytest_inferencecheck.support.sizes import parse_size

ENV_SWITCH = "INFERENCECHECK"
DEFAULT = "the default"  # the source of a value nobody gave
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _run(name: str, flag: str, form: Form, validate: Validator, help: str, default: Any = None,
         *, metavar: str | None = None, env: str | None = None) -> Knob:
    return Knob(name, "run", default, help, validate, form, flag, metavar, env=env)


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
    html: str | None = None
    baseline: str | None = None
    update_baseline: bool = False
    cache: bool = True
    cache_dir: str | None = None
    cache_size: int = 5 * 2**30
    timeout: float = 1800.0
    level: str = "full"
    remote: str | None = None
    remote_write: bool = False
    remote_trusted_keys: tuple[str, ...] = ()
    remote_signing_key: str | None = None
    remote_timeout: float = 30.0
    shard: tuple[int, int] | None = None
    durations: str | None = None



def _path(key: str, value: Any, source: str) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise InferenceCheckError(f"{key}={value!r} from {source}: must be a file path")


def _size(key: str, value: Any, source: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise InferenceCheckError(f"{key}={value!r} from {source}: {exc}") from None


LEVELS = ("full", "quick")


def _level(key: str, value: Any, source: str) -> str:
    return check_level(value, f"{key}={value!r} from {source}")


def check_level(value: Any, where: str) -> str:
    """'full' or 'quick' (any case); anything else is a usage error naming `where`."""
    level = value.strip().lower() if isinstance(value, str) else value
    if level not in LEVELS:
        raise InferenceCheckError(f"{where}: the level must be one of {', '.join(LEVELS)}")
    return level


def _seconds(key: str, value: Any, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise InferenceCheckError(f"{key}={value!r} from {source}: must be a number of seconds "
                                  ">= 0 (0 turns it off)")
    return seconds


def _remote(key: str, value: Any, source: str) -> str | None:
    """A team-store URL; empty means none (a CI variable left unset on a fork)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InferenceCheckError(f"{key}={value!r} from {source}: must be a team-store URL "
                                  "(s3://bucket/prefix, gs://..., az://..., file:///...)")
    return check_url(value.strip(), source)


def _shard(key: str, value: Any, source: str) -> tuple[int, int] | None:
    """`K/N` (1 <= K <= N) -> (K, N); empty means unsharded."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        k, n = (int(part) for part in str(value).strip().split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise InferenceCheckError(f"{key}={value!r} from {source}: a shard is K/N with "
                                  "1 <= K <= N (e.g. 2/4)")
    return k, n


def _optional_key(key: str, value: Any, source: str) -> str | None:
    """A key's path or PEM text; empty means none (a secret a fork's run does not get)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _path(key, value, source)


def _keys(key: str, value: Any, source: str) -> tuple[str, ...]:
    """Trusted public keys (`ed25519:...`) or files of them: comma- or newline-separated."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InferenceCheckError(f"{key}={value!r} from {source}: must be a list of "
                                  "'ed25519:...' keys or files of them")
    out = [part.strip() for item in items for part in str(item).replace("\n", ",").split(",")]
    return tuple(p for p in out if p)


def _bool(key: str, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InferenceCheckError(f"{key}={value!r} from {source}: must be true or false")


def _targets(key: str, value: Any, source: str) -> tuple[str, ...]:
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
    if source != DEFAULT and not out:
        raise InferenceCheckError(
            f"targets={value!r} from {source} names no target; name at least one (valid: "
            f"{', '.join(TARGETS)}), or leave it out to check every target")
    return tuple(dict.fromkeys(out))


SETTINGS: tuple[Knob, ...] = (
    _run("enabled", "--inference-check", "switch", _bool,
         f"Run the deploy_target checks (also {ENV_SWITCH}=1 or `enabled = true` in "
         "[tool.inferencecheck]); default: off, marked tests are skipped", False, env=ENV_SWITCH),
    _run("only", "--inference-check-only", "switch", _bool,
         "Run the inference checks and deselect every other test (implies "
         "--inference-check); default: off", False),
    _run("targets", "--inference-check-target", "append", _targets,
         "Only check these deployment targets (comma-separated, repeatable); default: all", (),
         metavar="TARGET"),
    _run("strict", "--inference-check-strict", "switch", _bool,
         "Fail on deviations from the table instead of warning; default: off", False),
    _run("require_device", "--inference-check-require-device", "switch", _bool,
         "Fail targets whose device is missing here instead of checking a host proxy; "
         "default: off", False),
    _run("json", "--inference-check-json", "value", _path,
         "Write the inferencecheck-report/1 JSON report to PATH; default: none", metavar="PATH"),
    _run("junit", "--inference-check-junit", "value", _path,
         "Write a JUnit XML report (a suite per target) to PATH; default: none", metavar="PATH"),
    _run("html", "--inference-check-html", "value", _path,
         "Write one self-contained HTML page (the matrix of models and targets, a card per "
         "check) to PATH; default: none", metavar="PATH"),
    _run("baseline", "--inference-check-baseline", "value", _path,
         "Graph-break baseline file: more breaks than it accepts fail; default: none",
         metavar="PATH"),
    _run("update_baseline", "--inference-check-update-baseline", "switch", _bool,
         "Rewrite the baseline from this run's graph breaks instead of gating on it; "
         "default: off", False),
    _run("cache", "--inference-check-cache", "switch", _bool,
         "Keep built artifacts and their recorded runs in the artifact store and reuse them "
         "where their keys prove them unchanged; with --no-inference-check-cache nothing is "
         "kept between runs; default: on", True),
    _run("cache_dir", "--inference-check-cache-dir", "value", _path,
         "The artifact store's directory; default: $INFERENCECHECK_CACHE_DIR, else "
         "~/.cache/pytest-inferencecheck", metavar="PATH"),
    _run("level", "--inference-check-level", "value", _level,
         "quick: eager, graph breaks, export and the row, in seconds, with nothing compiled, "
         "lowered or run (pre-commit, pull requests); full: the whole path; default: full",
         "full", metavar="{full,quick}", env="INFERENCECHECK_LEVEL"),
    _run("timeout", "--inference-check-timeout", "value", _seconds,
         "Fail a check that runs longer than this many seconds (a hang in any stage ends as "
         "a failed 'timeout' stage, and the run goes on); marker option timeout_s overrides "
         "it; 0 turns it off; default: 1800", 1800.0, metavar="SECONDS"),
    _run("cache_size", "--inference-check-cache-size", "value", _size,
         "Size cap of the artifact store (e.g. 5G); least recently used entries are pruned "
         "past it; default: 5G", "5G", metavar="SIZE"),
    _run("remote", "--inference-check-remote", "value", _remote,
         "The team store behind the local one (s3://bucket/prefix for AWS, MinIO, R2 or Ceph; "
         "gs://, az://, file:///shared): a local miss reads through it, loading only entries "
         "a trusted key signed; needs the [remote] extra; default: none", metavar="URL",
         env="INFERENCECHECK_REMOTE"),
    _run("remote_write", "--inference-check-remote-write", "switch", _bool,
         "Publish what this run builds to the team store, signed with "
         "--inference-check-remote-signing-key (trusted writers only: CI on the default "
         "branch); default: off (read only)", False, env="INFERENCECHECK_REMOTE_WRITE"),
    _run("remote_trusted_keys", "--inference-check-remote-trusted-keys", "append", _keys,
         "Public keys (ed25519:..., or files of them) whose signed entries this run loads "
         "from the team store; default: none", (), metavar="KEYS",
         env="INFERENCECHECK_REMOTE_TRUSTED_KEYS"),
    _run("remote_signing_key", "--inference-check-remote-signing-key", "value", _optional_key,
         "The private key (a PEM file, or the PEM itself in the environment variable) that "
         "signs what this run publishes; default: none", metavar="PATH",
         env="INFERENCECHECK_REMOTE_SIGNING_KEY"),
    _run("shard", "--inference-check-shard", "value", _shard,
         "Run the K-th of N disjoint parts of the run (whole test items: a model's targets "
         "stay together), balanced by --inference-check-durations; merge the N JSON reports "
         "with `inferencecheck report merge`; default: everything", metavar="K/N",
         env="INFERENCECHECK_SHARD"),
    _run("durations", "--inference-check-durations", "value", _path,
         "An earlier run's JSON report whose recorded times balance the shards; default: "
         "none (a stable hash)", metavar="PATH", env="INFERENCECHECK_DURATIONS"),
    _run("remote_timeout", "--inference-check-remote-timeout", "value", _seconds,
         "Seconds one team-store request may take before the run goes on with the local "
         "store alone; default: 30", 30.0, metavar="SECONDS"),
)


def add_options(addoption: Callable[..., Any], prefix: str = PYTEST_PREFIX,
                keys: tuple[str, ...] | None = None) -> None:
    """Register settings with an argparse-like `addoption` (pytest's group or the CLI's)."""
    add_arguments(addoption, tuple(s for s in SETTINGS if keys is None or s.name in keys),
                  prefix)


def resolve(cli: Mapping[str, Any], table: Mapping[str, Any], config_source: str,
            environ: Mapping[str, str] = os.environ) -> Settings:
    """Combine command line, environment and config table into Settings."""
    values: dict[str, Any] = {}
    for s in SETTINGS:
        raw, source = s.default, DEFAULT
        if s.name in table:
            raw, source = table[s.name], config_source
        if s.env and s.env in environ:
            raw, source = environ[s.env], f"environment variable {s.env}"
        if cli.get(s.dest) is not None:
            raw, source = cli[s.dest], f"command line {s.flag}"
        values[s.name] = s.validate(s.name, raw, source)
    if values["only"] and cli.get("enabled") is not False:
        values["enabled"] = True  # "check only the models" means: check them
    if values["shard"] and values["update_baseline"]:
        raise InferenceCheckError(
            "--inference-check-update-baseline with --inference-check-shard: a shard sees part "
            "of the run; update the baseline where the shards are merged (`inferencecheck "
            "report merge shard-*.json --baseline PATH --update-baseline`)")
    return Settings(**values)
