"""Lint a set of paths: discover files, map them to targets, apply noqa and selection."""

from __future__ import annotations

import fnmatch
import os
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InferenceCheckError, reject_unknown_keys
from ..table import Target, resolve_target
from .checker import Finding, check_source
from .rules import RULES

SKIP_DIRS = {".git", ".hg", ".venv", "venv", "__pycache__", "node_modules", "build", "dist",
             ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".eggs"}
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
                  re.IGNORECASE)
FILE_NOQA = re.compile(r"#\s*inferencecheck:\s*noqa\b", re.IGNORECASE)


@dataclass
class LintConfig:
    """Which rules run, and which paths deploy to which target."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    paths: dict[str, str] = field(default_factory=dict)  # glob -> target id

    def enabled(self) -> set[str]:
        """Codes that run: selected (by code or prefix; default: on-by-default rules) minus ignored."""
        chosen = {r.code for r in RULES if (r.default if not self.select else
                                            any(r.code.startswith(s) for s in self.select))}
        return {c for c in chosen if not any(c.startswith(i) for i in self.ignore)}

    def target_for(self, rel_path: str) -> Target | None:
        """The first `paths` glob matching a file decides its target."""
        for pattern, target in self.paths.items():
            if fnmatch.fnmatch(rel_path, pattern):
                return resolve_target(target)
        return None


def validate_codes(codes: list[str], source: str) -> tuple[str, ...]:
    """Codes or prefixes that match at least one rule."""
    out = []
    for code in codes:
        code = code.strip().upper()
        if code and not any(r.code.startswith(code) for r in RULES):
            raise InferenceCheckError(f"{source}: {code!r} matches no rule; rules: "
                                      f"{', '.join(r.code for r in RULES)}")
        if code:
            out.append(code)
    return tuple(out)


def _code_list(table: dict, key: str, source: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise InferenceCheckError(f"{source}: {key} must be a list of rule codes or prefixes, "
                                  f'e.g. {key} = ["IC101"]; got {value!r}')
    return value


def config_from_table(table: dict, source: str) -> LintConfig:
    """`[tool.inferencecheck.lint]`: select, ignore, paths."""
    if not isinstance(table, dict):
        raise InferenceCheckError(f"{source} must be a table (select, ignore, paths), got "
                                  f"{table!r}")
    reject_unknown_keys(table, {"select", "ignore", "paths"}, source)
    paths = table.get("paths", {})
    if not isinstance(paths, dict):
        raise InferenceCheckError(f"{source}: paths must be a table of glob = target")
    for glob, target in paths.items():
        try:
            resolve_target(target)
        except InferenceCheckError as exc:
            raise InferenceCheckError(f"{source}: paths[{glob!r}]: {exc}") from None
    return LintConfig(validate_codes(_code_list(table, "select", source), source),
                      validate_codes(_code_list(table, "ignore", source), source), dict(paths))


def discover(paths: list[str]) -> list[Path]:
    """Python files under the given paths (a missing path is a usage error)."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InferenceCheckError(f"{raw}: no such file or directory")
        if p.is_file():
            files.append(p)
            continue
        if not p.is_dir():  # a FIFO, a socket, a device: reading it could block forever
            raise InferenceCheckError(f"{raw}: not a regular file or directory")
        for root, dirs, names in os.walk(p):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            files.extend(Path(root) / n for n in sorted(names)
                         if n.endswith(".py") and (Path(root) / n).is_file())  # regular only
    return files


def _suppressed(finding: Finding, lines: list[str]) -> bool:
    if finding.line - 1 >= len(lines):
        return False
    m = NOQA.search(lines[finding.line - 1])
    if not m:
        return False
    codes = m.group("codes")
    return codes is None or finding.code in {c.upper() for c in re.split(r"[\s,]+", codes)}


@dataclass
class LintResult:
    """Findings, files that could not be read or parsed, and how many files were linted."""

    findings: list[Finding]
    errors: list[str]
    files: int


def lint_paths(paths: list[str], config: LintConfig, root: Path | None = None) -> LintResult:
    """Lint every file; a file that cannot be parsed is reported and the others still linted."""
    root = root or Path.cwd()
    enabled = config.enabled()
    findings: list[Finding] = []
    errors: list[str] = []
    files = discover(paths)
    for path in files:
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            rel = str(path)
        rel = rel.replace(os.sep, "/")
        try:
            with tokenize.open(path) as handle:  # honours a PEP 263 coding line and a BOM
                source = handle.read()
        except (OSError, UnicodeDecodeError, SyntaxError, LookupError) as exc:
            errors.append(f"{rel}: cannot read: {exc}")
            continue
        if FILE_NOQA.search(source):
            continue
        try:
            found = check_source(source, rel, config.target_for(rel))
        except SyntaxError as exc:
            errors.append(f"{rel}:{exc.lineno or 0}:{exc.offset or 0}: cannot parse: {exc.msg}")
            continue
        except Exception as exc:  # noqa: BLE001 - too deep (RecursionError), NUL bytes, ...:
            errors.append(f"{rel}: cannot parse: {type(exc).__name__}: {exc}")  # this file only
            continue
        lines = source.splitlines()
        findings.extend(f for f in found if f.code in enabled and not _suppressed(f, lines))
    return LintResult(findings, errors, len(files))
