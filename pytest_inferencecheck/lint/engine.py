"""Lint a set of paths (or one source from stdin): discover files, find each one's config, run
the rules, apply `# noqa` and per-file ignores, and name every file from the repository root."""

from __future__ import annotations

import ast
import contextlib
import difflib
import gc
import io
import os
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import InferenceCheckError, WriteError
from pytest_inferencecheck.lint.cache import LintCache
from pytest_inferencecheck.lint.config import (
    Configs,
    FileSettings,
    LintConfig,
    Overrides,
    excluded_rel,
    relative_path,
)
from pytest_inferencecheck.lint.fixes import apply as apply_fixes
from pytest_inferencecheck.lint.noqa import UNUSED_NOQA, Directives
from pytest_inferencecheck.lint.rules import BY_CODE
from pytest_inferencecheck.lint.syntax import parse_error_message
from pytest_inferencecheck.lint.walker import Finding, check_tree, fingerprinted, source_lines
from pytest_inferencecheck.support.files import write_atomic

WORKSPACE_ENV = "GITHUB_WORKSPACE"


@dataclass(frozen=True)
class LintError:
    """A file that could not be read or parsed: where, and why. `syntax`: the file was read
    but is not Python this interpreter parses (a finding about the file, exit 1, as ruff's
    invalid-syntax); otherwise it could not be read at all (exit 2)."""

    path: str
    message: str
    line: int | None = None
    col: int | None = None
    syntax: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col or 0}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class LintResult:
    """Findings, files that could not be read or parsed, and how many files were linted;
    `root` is the folder finding paths start from. With fixing: how many fixes were applied
    (or would be, for `--diff`), the diffs, and whether unsafe fixes were asked for."""

    findings: list[Finding]
    errors: list[LintError]
    files: int
    root: Path | None = None
    fixed: int = 0
    diffs: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False
    fixed_stdin: bytes | None = None  # `--fix -`: the fixed source, for standard output

    def shown(self, path: str) -> str:
        """A finding's path as text output prints it: from the current folder, as ruff's."""
        return cwd_relative(self.root, path)


def cwd_relative(root: Path | None, path: str) -> str:
    """`path` (from `root`) from the current folder; as given for standard input or
    without a root."""
    if root is None or path == "-":
        return path
    return relative_path(root / path, Path.cwd())


@dataclass(frozen=True)
class Fixing:
    """`--fix` (write the files) or `--diff` (show what would change); `unsafe`: apply
    unsafe fixes too."""

    unsafe: bool = False
    write: bool = True


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
            config = configs.for_dir(Path(root))
            patterns = configs.exclude_patterns(config)
            rel = configs.relative(config, Path(root))  # names joined as strings: fast
            prefix = "" if rel == "." else rel + "/"
            dirs[:] = sorted(d for d in dirs if not excluded_rel(prefix + d, patterns))
            files.extend(Path(root, n) for n in sorted(names)
                         if n.endswith(".py") and not excluded_rel(prefix + n, patterns)
                         and os.path.isfile(os.path.join(root, n)))  # regular files only
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


@dataclass
class FileResult:
    """One file's findings and errors."""

    findings: list[Finding]
    errors: list[LintError]


def _decode(data: bytes) -> tuple[str, str]:
    """The source text and its encoding, as Python reads a file (a PEP 263 coding line, a
    BOM, else UTF-8); raises SyntaxError, UnicodeDecodeError or LookupError."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding  # "utf-8-sig" drops a BOM (and writes it back)


def _unreadable(data: bytes, shown: str, exc: Exception) -> LintError:
    """Why a file cannot be decoded, at its line and column (not a byte offset)."""
    if isinstance(exc, UnicodeDecodeError):
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start:exc.start + 1].hex()
        return LintError(shown, f"cannot read: not valid {exc.encoding}: byte 0x{bad} at line "
                                f"{line}, column {column} ({exc.reason}); save the file as "
                                f"UTF-8 or declare its encoding (PEP 263)")
    return LintError(shown, f"cannot read: {exc}")


def lint_source(data: bytes, shown: str, settings: FileSettings) -> FileResult:
    """Decode a file as Python does and lint it with its settings; `shown` names it in the
    output. Pure: the same inputs, the same result (what the cache relies on)."""
    try:
        source, _ = _decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return FileResult([], [_unreadable(data, shown, exc)])
    return lint_text(source, shown, settings)


def lint_text(source: str, shown: str, settings: FileSettings) -> FileResult:
    """Lint decoded source text (see `lint_source`)."""
    out = FileResult([], [])
    lines = source_lines(source)
    directives = Directives(source, lines)
    if not settings.enabled or directives.skip_file:
        return out
    try:
        tree = ast.parse(source, filename=shown)
    except SyntaxError as exc:
        out.errors.append(LintError(shown, parse_error_message(source, exc), exc.lineno,
                                    exc.offset, syntax=True))
        return out
    except Exception as exc:  # noqa: BLE001 - too deep (RecursionError), NUL bytes, ...:
        # not the file's syntax but this parser's limits: the file was not seen (exit 2)
        out.errors.append(LintError(shown, f"cannot parse: {type(exc).__name__}: {exc}"))
        return out
    rules = [BY_CODE[c] for c in sorted(settings.enabled) if c != UNUSED_NOQA]
    try:
        found = check_tree(tree, source, shown, settings.target, rules)
    except RecursionError as exc:  # a deeply nested expression the parser still took
        out.errors.append(LintError(shown, f"cannot lint: {type(exc).__name__}: {exc}"))
        return out
    kept = [f for f in found if not directives.suppresses(f.line, f.code)]
    if UNUSED_NOQA in settings.enabled:
        rule = BY_CODE[UNUSED_NOQA]
        kept += [Finding(shown, d.line, d.col, UNUSED_NOQA, rule.message.format(codes=codes),
                         d.line, d.end_col, fix=fix)
                 for d, codes, fix in directives.unused([(f.line, f.code) for f in found],
                                                        settings.enabled, frozenset(BY_CODE))
                 if not directives.suppresses(d.line, UNUSED_NOQA)]
        kept.sort(key=lambda f: (f.line, f.col, f.code))
    if kept:
        out.findings = fingerprinted(kept, lines)
    return out


# ruff's limit on fix passes: a fix that keeps producing fixable code stops here
MAX_FIX_PASSES = 100


def fix_source(data: bytes, shown: str, settings: FileSettings,
               unsafe: bool) -> tuple[bytes, FileResult, int]:
    """Apply the file's fixes (safe ones, and unsafe ones with `unsafe`), linting again after
    each pass, until none applies; return the new bytes (same encoding), what is left, and
    how many fixes were applied. A pass whose result no longer parses is dropped."""
    try:
        source, encoding = _decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return data, FileResult([], [_unreadable(data, shown, exc)]), 0
    result, fixed = lint_text(source, shown, settings), 0
    for _ in range(MAX_FIX_PASSES):
        fixes = [f.fix for f in result.findings if f.fix is not None and f.fix.applies(unsafe)]
        if not fixes or result.errors:
            break
        new, applied = apply_fixes(source, fixes)
        after = lint_text(new, shown, settings)
        if not applied or new == source or after.errors:
            break  # nothing changed, or the fix would leave a file that does not parse
        source, result, fixed = new, after, fixed + applied
    return (source.encode(encoding) if fixed else data), result, fixed


@dataclass(frozen=True)
class _Job:
    """One file to lint: where it is, its name in the output, its settings, and with a cache
    its settings' signature (the key is made in the worker, from the bytes it lints: a file
    is read once, and the entry always names the bytes it was made from)."""

    path: Path
    shown: str
    settings: FileSettings
    signature: str | None = None


def _lint_bytes(job: _Job, data: bytes) -> FileResult:
    with _no_cycle_collection():
        return lint_source(data, job.shown, job.settings)


def _lint_chunk(jobs: list[_Job], cache_root: str | None) -> tuple[list[FileResult], int, int]:
    """A worker's share: read each file once, take its content-keyed entry from the cache,
    else lint it and keep the result there; the results, and the cache's hits and misses."""
    cache = LintCache(Path(cache_root)) if cache_root else None
    results = []
    for job in jobs:
        try:
            data = job.path.read_bytes()
        except OSError as exc:
            results.append(FileResult([], [LintError(job.shown, f"cannot read: {exc}")]))
            continue
        key = LintCache.key(data, job.signature) \
            if cache is not None and job.signature is not None else None
        entry = cache.get(key) if cache is not None and key is not None else None
        cached = _from_entry(entry) if entry is not None else None
        if cached is not None:
            results.append(cached)
            continue
        result = _lint_bytes(job, data)
        if cache is not None and key is not None:
            cache.put(key, result.findings, result.errors)
        results.append(result)
    return results, (cache.hits if cache else 0), (cache.misses if cache else 0)


def _from_entry(entry: dict) -> FileResult | None:
    """A cached result, or None where its entry is malformed (the file is linted again)."""
    try:
        return FileResult([Finding.from_dict(f) for f in entry["findings"]],
                          [LintError(**e) for e in entry.get("errors", [])])
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


JOBS_ENV = "INFERENCECHECK_LINT_JOBS"


def default_jobs() -> int:
    """`$INFERENCECHECK_LINT_JOBS`, else the cores this process may run on."""
    env = os.environ.get(JOBS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


# Below this many files to lint, starting worker processes costs more than it saves.
PARALLEL_FROM = 64
CHUNK = 16  # files a worker takes at a time


class Linter:
    """Lints files with their settings, collecting findings and errors in the files' order:
    from the cache where an entry's key proves the result, else in worker processes."""

    def __init__(self, configs: Configs, root: Path, cache: LintCache | None = None,
                 jobs: int | None = None, fixing: Fixing | None = None) -> None:
        self.configs, self.root, self.cache = configs, root, cache
        self.jobs = jobs or default_jobs()
        self.fixing = fixing
        self.findings: list[Finding] = []
        self.errors: list[LintError] = []
        self.files = self.fixed = 0
        self.diffs: list[str] = []
        self.fixed_stdin: bytes | None = None

    def lint_files(self, paths: list[Path]) -> None:
        """Lint every file; the results keep the order of `paths`."""
        results: list[FileResult | None] = [None] * len(paths)
        todo: list[tuple[int, _Job]] = []
        to_record: dict[int, tuple[str, list[int], str]] = {}
        started_ns = time.time_ns()  # before any stat: a file changed since is not recorded
        for i, path in enumerate(paths):
            shown = relative_path(path, self.root)
            settings = self.configs.settings(path)
            if self.cache is None:
                todo.append((i, _Job(path, shown, settings)))
                continue
            signature = LintCache.settings(shown, settings.target, settings.enabled)
            try:
                stat = LintCache.stat_of(os.stat(path))  # before the read: see LintCache
            except OSError as exc:
                results[i] = FileResult([], [LintError(shown, f"cannot read: {exc}")])
                continue
            entry = self.cache.lookup(str(path), stat, signature)
            cached = _from_entry(entry) if entry is not None else None
            if cached is not None:
                results[i] = cached
                continue
            to_record[i] = (str(path), stat, signature)
            todo.append((i, _Job(path, shown, settings, signature)))
        for (i, _), result in zip(todo, self._run([job for _, job in todo])):
            results[i] = result
        if self.cache is not None:
            for i, (where, stat, signature) in to_record.items():
                done = results[i]
                assert done is not None
                self.cache.record(where, stat, signature, done.findings, done.errors,
                                  now_ns=started_ns)
            self.cache.save()
        for i, result in enumerate(results):
            assert result is not None
            if self._fixable(result):
                result = self._fix(paths[i], result)
            self.files += 1
            self.findings.extend(result.findings)
            self.errors.extend(result.errors)

    def _fixable(self, result: FileResult) -> bool:
        return self.fixing is not None and any(
            f.fix is not None and f.fix.applies(self.fixing.unsafe) for f in result.findings)

    def _fix(self, path: Path, result: FileResult, data: bytes | None = None) -> FileResult:
        """Fix one file: write it (`--fix`) or keep its diff (`--diff`); what is left."""
        assert self.fixing is not None
        shown = relative_path(path, self.root) if data is None else "-"
        try:
            old = path.read_bytes() if data is None else data
        except OSError as exc:
            return FileResult(result.findings, [LintError(shown, f"cannot fix: {exc}")])
        new, left, applied = fix_source(old, result.findings[0].path, self.configs.settings(path),
                                        self.fixing.unsafe)
        if not applied:
            return result
        if data is not None and self.fixing.write:
            self.fixed_stdin = new
        elif self.fixing.write:
            try:
                write_atomic(path, new, what="fixed file")
            except WriteError as exc:
                return FileResult(result.findings, [LintError(shown, f"cannot fix: {exc}")])
        else:
            name = cwd_relative(self.root, result.findings[0].path)
            self.diffs.append("".join(difflib.unified_diff(
                _decode(old)[0].splitlines(keepends=True), _decode(new)[0].splitlines(keepends=True),
                f"{name}", f"{name}")))
        self.fixed += applied
        return left

    def _run(self, jobs: list[_Job]) -> list[FileResult]:
        cache_root = str(self.cache.root) if self.cache is not None else None
        workers = min(self.jobs, max(1, len(jobs) // (PARALLEL_FROM // 2)))
        context = _fork_context() if workers > 1 and len(jobs) >= PARALLEL_FROM else None
        if context is None:  # few files (a warm run: none), one core, or no fork
            return self._count(_lint_chunk(jobs, cache_root))
        import concurrent.futures  # noqa: PLC0415 - a cold run only: imports cost a warm one

        # Small chunks, handed to whichever worker is free: a tree's few huge files do not
        # leave one worker busy while the other waits (the chunks return in order).
        size = max(1, min(CHUNK, len(jobs) // (workers * 8)))
        chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = pool.map(_lint_chunk, chunks, [cache_root] * len(chunks))
            return [result for part in parts for result in self._count(part)]

    def _count(self, part: tuple[list[FileResult], int, int]) -> list[FileResult]:
        results, hits, misses = part
        if self.cache is not None:
            self.cache.hits += hits
            self.cache.misses += misses
        return results

    def lint_bytes(self, data: bytes, path: Path, shown: str) -> None:
        """Lint one source (standard input) with the settings of `path`; never cached."""
        result = _lint_bytes(_Job(path, shown, self.configs.settings(path)), data)
        if self._fixable(result):
            result = self._fix(path, result, data)
        if self.fixing is not None and self.fixing.write and self.fixed_stdin is None:
            self.fixed_stdin = data  # nothing to fix: the source goes back unchanged
        self.files += 1
        self.findings.extend(result.findings)
        self.errors.extend(result.errors)

    def result(self) -> LintResult:
        """What was found, in a stable order."""
        return LintResult(self.findings, self.errors, self.files, self.root, self.fixed,
                          self.diffs, self.fixing is not None and self.fixing.unsafe,
                          self.fixed_stdin)


def _fork_context() -> Any:
    """Worker processes by fork, where the platform has it (they inherit the settings
    already resolved); None elsewhere: lint in this process."""
    import multiprocessing  # noqa: PLC0415 - a cold run only

    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - Windows
        return None


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
               *, overrides: Overrides | None = None, isolated: bool = False,
               cache: LintCache | None = None, jobs: int | None = None,
               fixing: Fixing | None = None) -> LintResult:
    """Lint every file; a file that cannot be parsed is reported and the others still linted.
    `config` (else each file's own) and `root` (else `display_root`) fix what is found;
    `cache` keeps each file's result between runs; `jobs` worker processes (default: one
    per core) share the files that are not in it."""
    configs = Configs(overrides, explicit=config, isolated=isolated)
    files = discover(paths, configs)
    linter = Linter(configs, (root or display_root([Path(p).absolute() for p in paths],
                                                   configs)).absolute(), cache, jobs, fixing)
    linter.lint_files(files)
    return linter.result()


def lint_stdin(data: bytes, filename: str | None, config: LintConfig | None = None,
               *, overrides: Overrides | None = None, isolated: bool = False,
               fixing: Fixing | None = None) -> LintResult:
    """Lint source read from standard input, named (for config, paths and output) by
    `--stdin-filename`; an excluded name under `--force-exclude` lints nothing. With `--fix`
    the fixed source is in the result, for standard output."""
    configs = Configs(overrides, explicit=config, isolated=isolated)
    path = Path(filename or "-").absolute()
    root = display_root([path], configs).absolute()
    linter = Linter(configs, root, fixing=fixing)
    if filename and configs.overrides.force_exclude and _excluded_anywhere(path, configs):
        return linter.result()
    linter.lint_bytes(data, path, relative_path(path, root) if filename else "-")
    return linter.result()
