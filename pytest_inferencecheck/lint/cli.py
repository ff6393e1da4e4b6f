"""`inferencecheck lint`: arguments, configuration, output, exit codes (0 clean, 1 findings,
2 usage error or a file that cannot be parsed)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import InferenceCheckError
from .emitters import EMITTERS
from .engine import LintConfig, config_from_table, lint_paths, validate_codes
from .rules import BY_CODE, RULES

FORMAT_ENV = "INFERENCECHECK_OUTPUT_FORMAT"


def _codes(value: str) -> list[str]:
    return [c for c in value.split(",") if c.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The lint subcommand's arguments."""
    p.add_argument("paths", nargs="*", default=["."], help="Files or folders; default: .")
    p.add_argument("--select", action="append", type=_codes, default=None, metavar="CODES",
                   help="Only these rules (codes or prefixes, comma-separated); default: the "
                        "rules on by default")
    p.add_argument("--ignore", action="append", type=_codes, default=None, metavar="CODES",
                   help="Skip these rules (codes or prefixes); default: none")
    p.add_argument("--output-format", choices=sorted(EMITTERS), default=None,
                   help=f"Output format (also {FORMAT_ENV}); default: text")
    p.add_argument("--output-file", "-o", default=None, metavar="PATH",
                   help="Write the output to PATH; default: standard output")
    p.add_argument("--config", default=None, metavar="PATH",
                   help="The pyproject.toml with [tool.inferencecheck.lint]; default: the "
                        "nearest one above the current folder")
    p.add_argument("--exit-zero", action="store_true",
                   help="Exit 0 even with findings (unparsable files still exit 2)")
    p.add_argument("--explain", metavar="CODE", default=None, help="Print a rule's documentation")
    p.add_argument("--list-rules", action="store_true", help="List every rule")


def _find_config(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(args: argparse.Namespace) -> tuple[LintConfig, Path]:
    """CLI flags over `[tool.inferencecheck.lint]` over defaults; root is the config's folder."""
    from ..config_file import read_table

    path = _find_config(args.config)
    table = read_table(path).get("lint", {}) if path else {}
    config = config_from_table(table, f"{path}: [tool.inferencecheck.lint]") \
        if table != {} else LintConfig()
    if args.select:
        config.select = validate_codes([c for group in args.select for c in group], "--select")
    if args.ignore:
        config.ignore = validate_codes([c for group in args.ignore for c in group], "--ignore")
    return config, (path.parent.resolve() if path else Path.cwd())


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
    config, root = load_config(args)
    result = lint_paths(args.paths, config, root=Path.cwd())
    output = EMITTERS[fmt](result)
    if args.output_file:
        Path(args.output_file).write_text(output)
    else:
        sys.stdout.write(output)
    for error in result.errors:
        print(f"inferencecheck lint: {error}", file=sys.stderr)
    if result.errors:
        return 2
    return 0 if args.exit_zero or not result.findings else 1
