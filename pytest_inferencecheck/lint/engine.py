"""Lint a set of paths (or one source from stdin): discover files, find each one's config, run
the rules, apply `# noqa` and per-file ignores, and name every file from the repository root."""

from __future__ import annotations

import ast
import contextlib
import gc
import io
import os
import tokenize
from dataclasses import dataclass
from pathlib import Path

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.lint.config import Configs, LintConfig, Overrides, relative_path
from pytest_inferencecheck.lint.noqa import Directives
from pytest_inferencecheck.lint.rules import BY_CODE
from pytest_inferencecheck.lint.walker import Finding, check_tree, fingerprinted, source_lines

WORKSPACE_ENV = "GITHUB_WORKSPACE"


@dataclass(frozen=True)
class LintError:
    """A file that could not be read or parsed: where, and why."""

    path: str
    message: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col or 0}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class LintResult:
    """Findings, files that could not be read or parsed, and how many files were linted."""

    findings: list[Finding]
    errors: list[LintError]
    files: int


def display_root(paths: list[Path], configs: Configs) -> Path:
    """Where output paths start: `$GITHUB_WORKSPACE` in a workflow (annotations and SARIF
    need paths from the checkout); else the project root above the current folder (its
    config's folder), so a run from `src/` still names `src/model.py`; else the linted paths'
    project root; else the current folder."""
    workspace = os.environ.get(WORKSPACE_ENV)
    if workspace and Path(workspace).is_dir():
        return Path(workspace).absolute()
    here = configs.for_dir(Path.cwd().absolute())
    if here.root is not None:
        return here.root
    try:
        common = Path(os.path.commonpath([str(p) for p in paths])) if paths else Path.cwd()
    except ValueError:
        common = Path.cwd()
    config = configs.for_dir(common if common.is_dir() else common.parent)
    return config.root if config.root is not None else Path.cwd()


def discover(paths: list[str], configs: Configs) -> list[Path]:
    """Python files under the given paths (absolute). Folders skip excluded entries; a file
    named explicitly is linted unless `--force-exclude` (what pre-commit passes)."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw).absolute()
        if not p.exists():
            raise InferenceCheckError(f"{raw}: no such file or directory")
        if p.is_file():
            if not (configs.overrides.force_exclude and _excluded_anywhere(p, configs)):
                files.append(p)
            continue
        if not p.is_dir():  # a FIFO, a socket, a device: reading it could block forever
            raise InferenceCheckError(f"{raw}: not a regular file or directory")
        if configs.overrides.force_exclude and _excluded_anywhere(p, configs):
            continue
        for root, dirs, names in os.walk(p):
            here = Path(root)
            config = configs.for_dir(here)
            dirs[:] = sorted(d for d in dirs if not configs.excluded(here / d, config))
            files.extend(here / n for n in sorted(names)
                         if n.endswith(".py") and (here / n).is_file()  # regular files only
                         and not configs.excluded(here / n, config))
    return files


def _excluded_anywhere(path: Path, configs: Configs) -> bool:
    """Is the path, or a folder above it inside its project, excluded?"""
    config = configs.for_dir(path.parent if path.is_file() else path)
    stop = config.root or Path.cwd()
    node = path
    while True:
        if configs.excluded(node, config):
            return True
        if node == stop or node.parent == node or stop not in node.parents:
            return False
        node = node.parent


class Linter:
    """Lints files one by one with their settings, collecting findings and errors."""

    def __init__(self, configs: Configs, root: Path) -> None:
        self.configs, self.root = configs, root
        self.findings: list[Finding] = []
        self.errors: list[LintError] = []
        self.files = 0

    def lint_file(self, path: Path) -> None:
        """Read one file and lint it."""
        shown = relative_path(path, self.root)
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.files += 1
            self.errors.append(LintError(shown, f"cannot read: {exc}"))
            return
        self.lint_bytes(data, path, shown)

    def lint_bytes(self, data: bytes, path: Path, shown: str) -> None:
        """Decode a file as Python does (a PEP 263 coding line, a BOM, else UTF-8) and lint
        it; `path` finds its config, `shown` names it in the output."""
        self.files += 1
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            source = data.decode(encoding)  # "utf-8-sig" drops a BOM
        except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
            self.errors.append(LintError(shown, f"cannot read: {exc}"))
            return
        settings = self.configs.settings(path)
        directives = Directives(source)
        if not settings.enabled or directives.skip_file:
            return
        try:
            tree = ast.parse(source, filename=shown)
        except SyntaxError as exc:
            self.errors.append(LintError(shown, f"cannot parse: {exc.msg}", exc.lineno,
                                         exc.offset))
            return
        except Exception as exc:  # noqa: BLE001 - too deep (RecursionError), NUL bytes, ...:
            self.errors.append(LintError(shown, f"cannot parse: {type(exc).__name__}: {exc}"))
            return
        rules = [BY_CODE[c] for c in sorted(settings.enabled)]
        try:
            found = check_tree(tree, source, shown, settings.target, rules)
        except RecursionError as exc:  # a deeply nested expression the parser still took
            self.errors.append(LintError(shown, f"cannot lint: {type(exc).__name__}: {exc}"))
            return
        kept = [f for f in found if not directives.suppresses(f.line, f.code)]
        if kept:
            self.findings.extend(fingerprinted(kept, source_lines(source)))

    def result(self) -> LintResult:
        """What was found, in a stable order."""
        return LintResult(self.findings, self.errors, self.files)


@contextlib.contextmanager
def _no_cycle_collection():
    """Syntax trees hold no reference cycles, so the cycle collector only rescans the
    millions of nodes a large tree allocates (10% of the time on transformers)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def lint_paths(paths: list[str], config: LintConfig | None = None, root: Path | None = None,
               *, overrides: Overrides | None = None, isolated: bool = False) -> LintResult:
    """Lint every file; a file that cannot be parsed is reported and the others still linted.
    `config` (else each file's own) and `root` (else `display_root`) fix what is found."""
    configs = Configs(overrides, explicit=config, isolated=isolated)
    files = discover(paths, configs)
    linter = Linter(configs, (root or display_root([Path(p).absolute() for p in paths],
                                                   configs)).absolute())
    with _no_cycle_collection():
        for path in files:
            linter.lint_file(path)
    return linter.result()


def lint_stdin(data: bytes, filename: str | None, config: LintConfig | None = None,
               *, overrides: Overrides | None = None, isolated: bool = False) -> LintResult:
    """Lint source read from standard input, named (for config, paths and output) by
    `--stdin-filename`; an excluded name under `--force-exclude` lints nothing."""
    configs = Configs(overrides, explicit=config, isolated=isolated)
    path = Path(filename or "-").absolute()
    root = display_root([path], configs).absolute()
    linter = Linter(configs, root)
    if filename and configs.overrides.force_exclude and _excluded_anywhere(path, configs):
        return linter.result()
    linter.lint_bytes(data, path, relative_path(path, root) if filename else "-")
    return linter.result()
