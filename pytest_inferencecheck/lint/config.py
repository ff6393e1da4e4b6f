"""`[tool.inferencecheck.lint]`, found from each linted file as ruff finds its config, and the
command line's overrides of it: rule selection, target paths, excludes, per-file ignores."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pytest_inferencecheck.errors import InferenceCheckError, reject_unknown_keys
from pytest_inferencecheck.lint.selection import (
    DEFAULTS,
    Selection,
    resolve,
    validate_codes,
    validate_select,
)
from pytest_inferencecheck.recommendations.table import Target, resolve_target

# Skipped while walking folders (ruff's defaults, and every hidden folder); `exclude` replaces
# the list, `extend-exclude` adds to it.
DEFAULT_EXCLUDE = (".*", "__pycache__", "venv", "node_modules", "build", "dist", "_build",
                   "site-packages", "__pypackages__", "buck-out")
KEYS = {"select", "extend-select", "ignore", "paths", "exclude", "extend-exclude",
        "per-file-ignores"}


def _strings(table: dict, key: str, source: str, example: str) -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        what = "rule codes or prefixes" if example.startswith('"IC') else "globs"
        raise InferenceCheckError(f"{source}: {key} must be a list of {what}, e.g. "
                                  f"{key} = [{example}]; got {value!r}")
    return tuple(value)


@dataclass
class LintConfig:
    """One project's lint settings. `root` is the folder its globs are relative to."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    paths: dict[str, str] = field(default_factory=dict)  # glob -> target id
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    root: Path | None = None
    source: str = "defaults"

    @property
    def selection(self) -> Selection:
        """This config's layer of rule selection."""
        return Selection(self.select, self.extend_select, self.ignore)

    def target_for(self, rel_path: str) -> Target | None:
        """The first `paths` glob matching a file (relative to `root`) decides its target."""
        for pattern, target in self.paths.items():
            if glob_match(pattern, rel_path):
                return resolve_target(target)
        return None


@dataclass
class Overrides:
    """What the command line says over every config (None: the config decides)."""

    selection: Selection = field(default_factory=Selection)
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] | None = None
    extend_per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    force_exclude: bool = False


def glob_match(pattern: str, rel_path: str) -> bool:
    """A pattern without `/` matches a file or folder name anywhere (`tests`, `*_pb2.py`); one
    with `/` matches the path from the project root (`app/mobile/*`, `src/**/gen.py`)."""
    return excluded_rel(rel_path, (pattern,))


def excluded_rel(rel_path: str, patterns: tuple[str, ...]) -> bool:
    """Does any of the globs match this path (relative to its project root)? `glob_match`'s
    rule for each, compiled into two expressions (names, paths): every file of a tree asks."""
    by_name, by_path = _compiled(patterns)
    if by_name is not None:
        name = rel_path.rstrip("/").rpartition("/")[2]  # PurePosixPath(rel_path).name, faster
        if by_name.match("" if name == "." else name):  # the root has no name (".*" != root)
            return True
    return by_path is not None and by_path.match(rel_path) is not None


@functools.lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    names = [fnmatch.translate(p.rstrip("/")) for p in patterns if "/" not in p.rstrip("/")]
    paths = [fnmatch.translate(p.rstrip("/").removeprefix("./")) for p in patterns
             if "/" in p.rstrip("/")]
    one = lambda parts: re.compile("|".join(parts)) if parts else None  # noqa: E731
    return one(names), one(paths)


def config_from_table(table: object, source: str, root: Path | None = None) -> LintConfig:
    """`[tool.inferencecheck.lint]` (ruff's key names) with every value checked."""
    if not isinstance(table, dict):
        raise InferenceCheckError(f"{source} must be a table (select, ignore, paths, ...), "
                                  f"got {table!r}")
    reject_unknown_keys(table, KEYS, source)
    paths = table.get("paths", {})
    if not isinstance(paths, dict):
        raise InferenceCheckError(f"{source}: paths must be a table of glob = target")
    for glob, target in paths.items():
        try:
            resolve_target(target)
        except InferenceCheckError as exc:
            raise InferenceCheckError(f"{source}: paths[{glob!r}]: {exc}") from None
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise InferenceCheckError(f'{source}: per-file-ignores must be a table of glob = '
                                  f'[codes], e.g. "tests/*" = ["IC3"]')
    codes = lambda key: _strings(table, key, source, '"IC101"')  # noqa: E731
    select = codes("select")
    return LintConfig(
        select=None if select is None else validate_select(select, f"{source}: select"),
        extend_select=validate_codes(codes("extend-select") or (), f"{source}: extend-select"),
        ignore=validate_codes(codes("ignore") or (), f"{source}: ignore"),
        paths=dict(paths), exclude=_strings(table, "exclude", source, '"generated/*"'),
        extend_exclude=_strings(table, "extend-exclude", source, '"generated/*"') or (),
        per_file_ignores={
            glob: validate_codes(_strings(per_file, glob, f"{source}: per-file-ignores",
                                          '"IC3"') or (), f"{source}: per-file-ignores")
            for glob in per_file},
        root=root, source=source)


def parse_per_file(values: list[str], flag: str) -> dict[str, tuple[str, ...]]:
    """`--per-file-ignores "tests/*:IC3,IC101"` (repeatable)."""
    out: dict[str, tuple[str, ...]] = {}
    for value in values:
        glob, sep, codes = value.rpartition(":")
        if not sep or not glob:
            raise InferenceCheckError(f"{flag} {value!r}: expected GLOB:CODES, e.g. "
                                      f"\"tests/*:IC3\"")
        out[glob] = out.get(glob, ()) + validate_codes(codes.split(","), flag)
    return out


@dataclass
class FileSettings:
    """What applies to one file: its target and enabled rules."""

    target: Target | None
    enabled: frozenset[str]


class Configs:
    """Finds each file's config (the nearest pyproject.toml with a `[tool.inferencecheck]`
    table above it, or `--config`), and resolves it with the overrides. Cached per folder."""

    def __init__(self, overrides: Overrides | None = None, explicit: LintConfig | None = None,
                 isolated: bool = False) -> None:
        self.overrides = overrides or Overrides()
        self.explicit = explicit
        self.isolated = isolated
        self._by_dir: dict[Path, LintConfig] = {}
        # keyed by id(): every config it names lives as long as this object (held here or in
        # `_by_dir`), so an id is never reused for another config
        self._default = LintConfig()
        self._enabled: dict[tuple[int, tuple[str, ...]], frozenset[str]] = {}

    def for_dir(self, folder: Path) -> LintConfig:
        """The config that governs files in `folder` (absolute)."""
        if self.explicit is not None:
            return self.explicit
        if self.isolated:
            return self._default
        if folder in self._by_dir:
            return self._by_dir[folder]
        candidate = folder / "pyproject.toml"
        found = _read(candidate) if candidate.is_file() else None
        if found is None:
            found = self.for_dir(folder.parent) if folder.parent != folder else self._default
        self._by_dir[folder] = found
        return found

    def relative(self, config: LintConfig, path: Path) -> str:
        """`path` relative to the config's root (the current folder without one)."""
        return relative_path(path, config.root or Path.cwd())

    def exclude_patterns(self, config: LintConfig) -> tuple[str, ...]:
        """The globs that exclude files and folders of this config's project."""
        o = self.overrides
        return (*(o.exclude if o.exclude is not None else
                  config.exclude if config.exclude is not None else DEFAULT_EXCLUDE),
                *config.extend_exclude, *o.extend_exclude)

    def excluded(self, path: Path, config: LintConfig) -> bool:
        """Is this file or folder excluded by its project's (or the command line's) globs?"""
        return excluded_rel(self.relative(config, path), self.exclude_patterns(config))

    def per_file_ignores(self, config: LintConfig) -> dict[str, tuple[str, ...]]:
        """Glob -> codes: the command line's per-file ignores, else the config's, and the
        command line's extensions."""
        o = self.overrides
        return {**(o.per_file_ignores if o.per_file_ignores is not None else
                   config.per_file_ignores), **o.extend_per_file_ignores}

    def settings(self, path: Path) -> FileSettings:
        """The resolved settings for one file (absolute path)."""
        config = self.for_dir(path.parent)
        rel = self.relative(config, path)
        ignored = tuple(c for glob, codes in self.per_file_ignores(config).items()
                        if glob_match(glob, rel) for c in codes)
        key = (id(config), ignored)
        if key not in self._enabled:
            layers = [DEFAULTS, config.selection, self.overrides.selection]
            if ignored:
                layers.append(Selection(ignore=ignored))
            self._enabled[key] = resolve(layers)
        return FileSettings(config.target_for(rel), self._enabled[key])


def relative_path(path: Path, root: Path) -> str:
    """`path` from `root`, with `/`; the common case (an absolute path under an absolute root)
    without `os.path.relpath`'s normalisation, which dominated linting a warm tree."""
    text, base = str(path), str(root)
    if path.is_absolute() and root.is_absolute() and text.startswith(base.rstrip(os.sep) + os.sep) \
            and ".." not in path.parts and "." not in path.parts:
        return text[len(base.rstrip(os.sep)) + 1:].replace(os.sep, "/")
    try:
        rel = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        rel = str(path)
    return rel.replace(os.sep, "/")


def _read(pyproject: Path) -> LintConfig | None:
    """The lint config of a pyproject.toml, its folder the root; None without a
    `[tool.inferencecheck]` table (ruff's rule: without the tool's table it is not its config)."""

    # the pytest options' registry comes with it: only a project with a config pays for it
    from pytest_inferencecheck.config.section import (  # noqa: PLC0415 - deferred
        SECTION_KEYS,
        TABLE,
        tool_table,
    )

    table = tool_table(pyproject)
    if table is None:
        return None
    reject_unknown_keys(table, SECTION_KEYS, f"{pyproject}: {TABLE}")
    return config_from_table(table.get("lint", {}), f"{pyproject}: [tool.inferencecheck.lint]",
                             pyproject.absolute().parent)


def load_explicit(path: Path) -> LintConfig:
    """`--config PATH`: that file's `[tool.inferencecheck]` table, its folder the root. A file
    given by name is read whole: invalid TOML, or a file with no such table (a ruff.toml-style
    one, say), is a usage error, never silently the defaults."""
    from pytest_inferencecheck.config.section import TABLE, tomllib  # noqa: PLC0415 - deferred

    if not path.is_file():
        raise InferenceCheckError(f"--config {path}: no such file")
    config = _read(path)
    if config is not None:
        return config
    if tomllib is not None:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:  # "... (at line N, column M)"
            raise InferenceCheckError(f"--config {path}: invalid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InferenceCheckError(f"--config {path}: cannot be read: {exc}") from None
    raise InferenceCheckError(
        f"--config {path}: it has no {TABLE} table, so nothing in it configures the linter "
        "(a ruff.toml-style file is not read): put the settings under "
        "[tool.inferencecheck.lint] (select, ignore, per-file-ignores, paths, ...)")
