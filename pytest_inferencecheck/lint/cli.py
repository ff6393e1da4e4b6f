"""`inferencecheck lint`: arguments, configuration, output, exit codes (0 clean, 1 findings,
2 usage error or a file that cannot be parsed). Flags follow ruff's names and precedence."""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path

from pytest_inferencecheck.errors import InferenceCheckError, WriteError
from pytest_inferencecheck.lint.cache import CACHE_ENV, DEFAULT_DIR, LintCache, default_root
from pytest_inferencecheck.lint.config import Configs, Overrides, load_explicit, parse_per_file
from pytest_inferencecheck.lint.emitters import EMITTERS
from pytest_inferencecheck.lint.engine import (
    Fixing,
    LintResult,
    discover,
    lint_paths,
    lint_stdin,
)
from pytest_inferencecheck.lint.rules import BY_CODE, RULES
from pytest_inferencecheck.lint.selection import Selection, validate_codes, validate_select
from pytest_inferencecheck.support.exits import guarded
from pytest_inferencecheck.support.files import write_atomic
from pytest_inferencecheck.support.version import __version__

FORMAT_ENV = "INFERENCECHECK_OUTPUT_FORMAT"
DESCRIPTION = "Static checks of deployment code (no imports, no torch)"


def _items(value: str) -> list[str]:
    """A comma-separated option value (codes or globs), stripped, empties dropped."""
    return [v.strip() for v in value.split(",") if v.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The lint subcommand's arguments."""
    p.add_argument("paths", nargs="*", default=None,
                   help="Files or folders, or - for standard input; default: .")
    p.add_argument("--version", action="version", version=f"inferencecheck lint {__version__}")
    rules = p.add_argument_group("rule selection (command line over config, as in ruff)")
    rules.add_argument("--select", action="append", type=_items, default=None, metavar="CODES",
                       help="Only these rules (codes, prefixes or ALL, comma-separated), "
                            "replacing the config's selection; default: the config's, else the "
                            "rules on by default")
    rules.add_argument("--extend-select", action="append", type=_items, default=None,
                       metavar="CODES", help="Also these rules; default: none")
    rules.add_argument("--ignore", action="append", type=_items, default=None, metavar="CODES",
                       help="Skip these rules (codes or prefixes); default: none")
    rules.add_argument("--per-file-ignores", action="append", default=None,
                       metavar="GLOB:CODES", help="Skip rules in matching files, replacing "
                       "the config's per-file-ignores (repeatable); default: the config's")
    rules.add_argument("--extend-per-file-ignores", action="append", default=None,
                       metavar="GLOB:CODES", help="Add per-file ignores; default: none")
    files = p.add_argument_group("files")
    files.add_argument("--exclude", action="append", type=_items, default=None,
                       metavar="GLOBS", help="Skip these files and folders, replacing the "
                       "defaults and the config's exclude; default: hidden folders, "
                       "__pycache__, venv, build, dist, node_modules, ...")
    files.add_argument("--extend-exclude", action="append", type=_items, default=None,
                       metavar="GLOBS", help="Skip these too; default: none")
    files.add_argument("--force-exclude", action="store_true",
                       help="Apply excludes to files named on the command line too (what "
                            "pre-commit passes)")
    files.add_argument("--stdin-filename", default=None, metavar="PATH",
                       help="Read the source from standard input and report it as PATH (its "
                            "config, target and excludes apply)")
    files.add_argument("--config", default=None, metavar="PATH",
                       help="The pyproject.toml with [tool.inferencecheck.lint]; default: for "
                            "each file, the nearest one above it with a [tool.inferencecheck] "
                            "table")
    files.add_argument("--isolated", action="store_true", help="Ignore every config file")
    cache = p.add_argument_group("cache (each file's result, kept between runs, as ruff's)")
    cache.add_argument("--no-cache", action="store_true",
                       help="Lint every file and keep nothing; default: reuse the results of "
                            "files whose bytes, name, rules and target are unchanged")
    cache.add_argument("--cache-dir", default=None, metavar="PATH",
                       help=f"Where results are kept (also {CACHE_ENV}); default: "
                            f"{DEFAULT_DIR} in the project root (the folder of the nearest "
                            "pyproject.toml with [tool.inferencecheck]), else here")
    fixes = p.add_argument_group("fixes (ruff's applicability: see each rule's --explain)")
    fixes.add_argument("--fix", action="store_true",
                       help="Apply the safe fixes to the files, then report what is left")
    fixes.add_argument("--unsafe-fixes", action="store_true",
                       help="Also apply (with --fix) or show unsafe fixes: they may change "
                            "what the program does")
    fixes.add_argument("--diff", action="store_true",
                       help="Print the fixes as a diff instead of writing them (exit 1 if any)")
    out = p.add_argument_group("output")
    out.add_argument("--output-format", choices=sorted(EMITTERS), default=None,
                     help=f"Output format (also {FORMAT_ENV}); default: text")
    out.add_argument("--output-file", "-o", default=None, metavar="PATH",
                     help="Write the output to PATH; default: standard output")
    out.add_argument("--statistics", action="store_true",
                     help="Print how many findings each rule has instead of the findings")
    out.add_argument("--exit-zero", action="store_true",
                     help="Exit 0 even with findings (unparsable files still exit 2)")
    out.add_argument("--explain", metavar="CODE", default=None, help="Print a rule's documentation")
    out.add_argument("--show-settings", action="store_true",
                     help="Print the settings each given path is linted with, and exit")
    out.add_argument("--show-files", action="store_true",
                     help="Print the files that would be linted, and exit")
    out.add_argument("--list-rules", action="store_true", help="List every rule")


def _flat(groups: list[list[str]] | None) -> list[str] | None:
    return None if groups is None else [c for g in groups for c in g]


def overrides(args: argparse.Namespace) -> Overrides:
    """The command line's layer over every config."""
    select = _flat(args.select)
    return Overrides(
        selection=Selection(
            select=None if select is None else validate_select(select, "--select"),
            extend_select=validate_codes(_flat(args.extend_select) or [], "--extend-select"),
            ignore=validate_codes(_flat(args.ignore) or [], "--ignore")),
        exclude=None if args.exclude is None else tuple(_flat(args.exclude) or ()),
        extend_exclude=tuple(_flat(args.extend_exclude) or ()),
        per_file_ignores=None if args.per_file_ignores is None else
        parse_per_file(args.per_file_ignores, "--per-file-ignores"),
        extend_per_file_ignores=parse_per_file(args.extend_per_file_ignores or [],
                                               "--extend-per-file-ignores"),
        force_exclude=args.force_exclude)


def statistics(result: LintResult, fmt: str) -> str:
    """Findings per rule, most first (ruff's `--statistics`)."""
    counts = collections.Counter(f.code for f in result.findings)
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt == "json":
        return json.dumps([{"code": c, "name": BY_CODE[c].name, "count": n} for c, n in rows],
                          indent=2) + "\n"
    return "".join(f"{n:>5}\t{c}\t{BY_CODE[c].name}\n" for c, n in rows)


def run(args: argparse.Namespace) -> LintResult:
    """Lint what the arguments name (files, folders or standard input)."""
    explicit = load_explicit(Path(args.config)) if args.config else None
    over = overrides(args)
    paths = args.paths or []
    fixing = Fixing(unsafe=args.unsafe_fixes, write=not args.diff) \
        if args.fix or args.diff else None
    if paths == ["-"] or (not paths and args.stdin_filename):
        return lint_stdin(sys.stdin.buffer.read(), args.stdin_filename, explicit,
                          overrides=over, isolated=args.isolated, fixing=fixing)
    if "-" in paths:
        raise InferenceCheckError("- (standard input) cannot be mixed with other paths")
    if args.stdin_filename:
        raise InferenceCheckError("--stdin-filename reads standard input: pass no paths "
                                  "(or -)")
    configs = Configs(over, explicit=explicit, isolated=args.isolated)
    cache = None if args.no_cache else LintCache(cache_root(args, configs))
    return lint_paths(paths or ["."], explicit, overrides=over, isolated=args.isolated,
                      cache=cache, fixing=fixing)


def cache_root(args: argparse.Namespace, configs: Configs) -> Path:
    """`--cache-dir`, else the default in the project root above the current folder (the
    project the command runs in, as ruff's), whatever paths are linted."""
    if args.cache_dir:
        return Path(args.cache_dir)
    return default_root(configs.for_dir(Path.cwd().absolute()).root)


def main(args: argparse.Namespace) -> int:
    """Run the linter; return the exit code."""
    if args.list_rules:
        for r in RULES:
            print(f"{r.code}  {r.name:<28} {'on ' if r.default else 'off'}  {r.what}")
        return 0
    if args.explain:
        rule = BY_CODE.get(args.explain.upper())
        if rule is None:
            raise InferenceCheckError(f"no rule {args.explain!r}; rules: "
                                      f"{', '.join(r.code for r in RULES)}")
        print(rule.doc())
        return 0
    fmt = args.output_format or os.environ.get(FORMAT_ENV) or "text"
    if fmt not in EMITTERS:
        raise InferenceCheckError(f"{FORMAT_ENV}={fmt!r}: valid formats: {', '.join(EMITTERS)}")
    if args.show_settings or args.show_files:
        sys.stdout.write(show(args))
        return 0
    if args.diff and args.output_file:
        raise InferenceCheckError("--diff prints to standard output: drop --output-file")
    result = run(args)
    if args.diff:
        return _diff(result)
    output = statistics(result, fmt) if args.statistics else EMITTERS[fmt](result)
    if result.fixed_stdin is not None:
        # `--fix -`: the fixed source goes to standard output, the report to standard error
        sys.stdout.flush()
        sys.stdout.buffer.write(result.fixed_stdin)
        sys.stderr.write(output)
        output = ""
    if args.output_file:
        try:
            write_atomic(Path(args.output_file), output)
        except WriteError as exc:
            raise InferenceCheckError(f"--output-file: {exc}") from None
    else:
        sys.stdout.write(output)
    if _unread(result):
        return 2  # a file that could not be read: the run did not see it
    # a file that is not Python this interpreter parses is reported like a finding (ruff's
    # invalid-syntax): exit 1, or 0 with --exit-zero; the other files were all linted
    failed = result.findings or result.errors
    return 0 if args.exit_zero or not failed else 1


def _unread(result: LintResult) -> bool:
    """Name each file that could not be linted on stderr; was one of them not even read?"""
    for error in result.errors:
        print(f"inferencecheck lint: {error}", file=sys.stderr)
    return any(not e.syntax for e in result.errors)


def parser() -> argparse.ArgumentParser:
    """`inferencecheck lint` on its own: the arguments `inferencecheck`'s subcommand has."""
    p = argparse.ArgumentParser(prog="inferencecheck lint", description=DESCRIPTION)
    add_arguments(p)
    return p


def entry(argv: list[str]) -> int:
    """`inferencecheck lint ARGS` without importing the rest of the command: a warm run on an
    unchanged tree is mostly start-up, and the checker's modules are a third of it."""
    args = parser().parse_args(argv)
    return guarded(lambda: main(args), prog="inferencecheck")


def _diff(result: LintResult) -> int:
    """`--diff`: each file's fixes as a unified diff; exit 1 if there is any, as ruff."""
    sys.stdout.write("".join(result.diffs))
    unread = _unread(result)
    n = result.fixed
    print(f"Would fix {n} error{'s' if n != 1 else ''}." if n else "No errors would be fixed.",
          file=sys.stderr)
    return 2 if unread else 1 if n else 0


def show(args: argparse.Namespace) -> str:
    """`--show-files` (every file a run would lint, absolute, sorted) or `--show-settings`
    (for each path given, where its settings come from and what they are)."""
    explicit = load_explicit(Path(args.config)) if args.config else None
    configs = Configs(overrides(args), explicit=explicit, isolated=args.isolated)
    paths = [p for p in (args.paths or ["."]) if p != "-"]
    files = discover(paths, configs)
    if args.show_files:
        return "".join(f"{f}\n" for f in sorted(files))
    out = []
    for raw in paths:
        path = Path(raw).absolute()
        config = configs.for_dir(path if path.is_dir() else path.parent)
        settings = configs.settings(path if path.is_file() else path / "__init__.py")
        root = config.root or Path.cwd()
        cache = "disabled (--no-cache)" if args.no_cache else \
            str(cache_root(args, configs).absolute())
        out += [f"Resolved settings for: {path}",
                f"Settings path: {config.source if config.root else 'none (defaults)'}",
                "", "# Linter settings",
                f"root = {root}",
                f"enabled = {sorted(settings.enabled)}",
                f"target = {settings.target.id if settings.target else None}",
                f"paths = {config.paths}",
                f"exclude = {list(configs.exclude_patterns(config))}",
                f"per_file_ignores = "
                f"{ {g: list(c) for g, c in configs.per_file_ignores(config).items()} }",
                f"force_exclude = {configs.overrides.force_exclude}",
                f"cache_dir = {cache}",
                f"fix = {args.fix}", f"unsafe_fixes = {args.unsafe_fixes}",
                f"files = {sum(1 for f in files if f == path or path in f.parents)}", ""]
    return "\n".join(out)
