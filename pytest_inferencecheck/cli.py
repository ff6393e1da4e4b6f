"""The `inferencecheck` command: the table, the decision, one-model checks, and the linter.

Exit codes: 0 ok, 1 findings or failures, 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pytest_inferencecheck import __version__
from pytest_inferencecheck.checking.seed import seed_torch
from pytest_inferencecheck.config import settings
from pytest_inferencecheck.config.options import add_cli_options, from_namespace, validate
from pytest_inferencecheck.config.pyproject import build_model, load_callable
from pytest_inferencecheck.errors import InferenceCheckError, WriteError
from pytest_inferencecheck.gate import shards
from pytest_inferencecheck.gate.finish import (
    RunEnd,
    github_outputs,
    terminal_lines,
    write_outputs,
)
from pytest_inferencecheck.gate.step import check_call, decided, open_run_store
from pytest_inferencecheck.gate.verdict import Gate
from pytest_inferencecheck.lint.cli import DESCRIPTION as LINT_DESCRIPTION
from pytest_inferencecheck.lint.cli import add_arguments as add_lint_arguments
from pytest_inferencecheck.lint.cli import main as lint_main
from pytest_inferencecheck.recommendations.decision import recommend
from pytest_inferencecheck.recommendations.table import SOURCE, TABLE, TARGETS, resolve_target
from pytest_inferencecheck.reporters import html, json_report
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import CheckResult, interrupted
from pytest_inferencecheck.store import open_store, remote, signing
from pytest_inferencecheck.store.artifacts import (
    DEFAULT_MAX_BYTES,
    default_root,
    holds_store,
    list_entries,
)
from pytest_inferencecheck.support import pairs, signals
from pytest_inferencecheck.support.exits import guarded
from pytest_inferencecheck.support.sizes import human, parse_age, parse_size
from pytest_inferencecheck.support.wording import plural

RUN_SETTINGS = ("strict", "require_device", "json", "junit", "html", "baseline", "update_baseline",
                "level", "timeout", "cache", "cache_dir", "cache_size", "remote", "remote_write",
                "remote_trusted_keys", "remote_signing_key", "remote_timeout")


def _table(args: argparse.Namespace) -> int:
    if args.format == "json":
        print(json.dumps({"source": SOURCE, "rows": [vars(r) for r in TABLE],
                          "targets": {t.id: vars(t) for t in TARGETS.values()}}, indent=2))
    elif args.format == "markdown":
        print("| row | platform | use case | technology |\n|---|---|---|---|")
        for r in TABLE:
            print(f"| {r.number} | {r.platform} | {r.use_case} | {r.technology} |")
    else:
        for r in TABLE:
            print(f"{r.number}  {r.technology:<14} {r.platform}: {r.use_case}")
        print(f"\nsource: {SOURCE}")
    return 0


def _count(value: str) -> int:
    """An argparse type: a whole number >= 0."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value!r}")
    return number


def _recommend(args: argparse.Namespace) -> int:
    if args.fastest_backend is not None:
        validate({"backends": [args.fastest_backend]}, "--fastest-backend")
    rec = recommend(args.target, graph_breaks=args.graph_breaks,
                    aoti_supported=not args.aoti_unsupported,
                    fastest_backend=args.fastest_backend)
    print(json.dumps(rec.to_dict(), indent=2) if args.format == "json" else rec.reason)
    return 0


def _run(args: argparse.Namespace) -> int:
    from pytest_inferencecheck.checking.helpers import stop as stop_helpers  # noqa: PLC0415 - defers torch
    from pytest_inferencecheck.host.cpp_build import stop as stop_runner_build  # noqa: PLC0415 - defers torch

    s = settings.resolve(vars(args), {}, "the command line")
    opts = from_namespace(args, "the command line")
    root = Path.cwd()
    targets = list(dict.fromkeys(resolve_target(t) for group in args.target
                                 for t in group.split(",") if t.strip()))
    if not targets:  # the command line's door: targets resolved once, options validated once
        raise InferenceCheckError("--target names no target; give one of: " + ", ".join(TARGETS))
    gate = Gate.from_settings(s, root)
    line, tested = pairs.header()
    if not tested and any(t.artifact == "executorch" for t in targets):
        print(f"inferencecheck: WARNING: {line}", file=sys.stderr)
    factory = load_callable(args.factory, "inferencecheck run", root)
    inputs_fn = load_callable(args.inputs, "inferencecheck run", root) if args.inputs else None
    store = open_run_store(s, root)
    end = RunEnd([], s, root, store)
    name = args.name or args.factory

    def reported(result: CheckResult) -> None:  # each as it is done: Ctrl-C loses none
        decided(result, gate)
        end.results.append(result)
        print(explain(result), flush=True)

    restore_sigterm = signals.terminate_as_interrupt()  # CI's cancel ends it as Ctrl-C does
    try:  # one call: the targets share one trace and export of the model (`checking.sharing`)
        seed_torch()  # a model built with random weights is the same on every run
        model, example_inputs = build_model(factory, inputs_fn, args.factory, "",
                                            "pass --inputs module:function")
        check_call(model, example_inputs, [(t, None, None) for t in targets], settings=s,
                   options=opts, store=store, name=name, on_result=reported)
    except KeyboardInterrupt:
        end.interrupted = True
        done_targets = {r.target for r in end.results}
        stopped = next((t for t in targets if t.id not in done_targets), targets[-1])
        end.results.append(interrupted(None, name, stopped.id))  # the check Ctrl-C stopped
    finally:
        restore_sigterm()
        stop_helpers()
        stop_runner_build()
    done = write_outputs(end)
    for line in terminal_lines(end, done):
        print(line, file=sys.stderr if line.startswith("ERROR:") else sys.stdout)
    github_outputs(end, print)
    failed = any(r.outcome == "failed" and not r.expected_failure for r in end.results)
    return 2 if end.interrupted else 1 if failed or done.failed_outputs else 0


def _cache(args: argparse.Namespace) -> int:
    if args.action == "keygen":
        return _keygen(args.out)
    if args.remote:
        return _cache_remote(args)
    if args.action == "stats":
        args.action = "show"
    try:
        limit = parse_size(args.max_size) if args.max_size else DEFAULT_MAX_BYTES
    except ValueError as exc:
        raise InferenceCheckError(f"--max-size: {exc}") from None
    if args.cache_dir is not None and not str(args.cache_dir).strip():
        raise InferenceCheckError("--cache-dir is empty: give the store's directory")
    root = Path(args.cache_dir).expanduser() if args.cache_dir is not None else default_root()
    if not holds_store(root):  # never made here: a mistyped path must not become a store
        if args.cache_dir is not None:
            print(f"inferencecheck: no artifact store at {root} (no store was ever opened "
                  "there): check --cache-dir", file=sys.stderr)
            return 2
        print(f"{root}: 0 entries (nothing has been cached there yet)")
        return 0
    if args.action == "show":  # read, never written: a read-only store lists too
        return _show(root, list_entries(root), args.format, limit)
    store = open_store(root, max_bytes=limit, shared=False)
    if store.note:
        print(f"inferencecheck cache {args.action}: the store at {root} cannot be changed "
              f"({store.write_problem or store.note}); `inferencecheck cache show` lists it",
              file=sys.stderr)
        return 2
    if args.action == "prune":
        removed = store.prune()
        print(f"removed {plural(len(removed), 'entry', 'entries')} "
              f"({human(sum(e.bytes for e in removed))}); "
              f"{human(store.size())} left in {store.root} (cap {human(limit)})")
        return 0
    removed = store.clear()  # the action left
    kept = store.entries()
    print(f"removed {plural(len(removed), 'entry', 'entries')} "
          f"({human(sum(e.bytes for e in removed))}) from "
          f"{store.root}" + (f"; {len(kept)} in use were kept" if kept else ""))
    return 0


def _keygen(out: str | None) -> int:
    if not out:
        raise InferenceCheckError("cache keygen needs --out PATH: where to write the private key")
    path = Path(out).expanduser()
    if path.exists():
        raise InferenceCheckError(f"{path} exists: keygen never overwrites a key; choose "
                                  "another --out, or remove it first")
    pem, public = signing.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
        Path(f"{path}.pub").write_text(public + "\n")
    except OSError as exc:
        raise InferenceCheckError(f"cannot write the key to {path}: {exc.strerror or exc}"
                                  ) from None
    print(f"private key: {path} (mode 600; a CI secret for trusted writers only)")
    print(f"public key:  {path}.pub; readers trust it with")
    print(f"  --inference-check-remote-trusted-keys={public}")
    return 0


def _cache_remote(args: argparse.Namespace) -> int:
    client = remote.open_client(args.remote, "--remote")
    if args.action in ("show", "stats"):
        stats = remote.remote_stats(client)
        if args.format == "json":
            print(json.dumps({"remote": args.remote, **stats}, indent=2))
            return 0
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(stats["kinds"].items()))
        print(f"{args.remote}: {plural(stats['entries'], 'entry', 'entries')}"
              f"{f' ({kinds})' if kinds else ''}, {plural(stats['blobs'], 'blob')}, "
              f"{human(stats['bytes'])}")
        if stats["newest"] is not None:
            now = time.time()
            print(f"  newest published {_age(now - stats['newest'])} ago, oldest "
                  f"{_age(now - stats['oldest'])} ago")
        return 0
    if args.action != "prune":
        raise InferenceCheckError("cache clear --remote is not offered: prune it with "
                                  "--max-age and --max-size, or delete the prefix yourself")
    try:
        age = parse_age(args.max_age) if args.max_age else None
        limit = parse_size(args.max_size) if args.max_size else None
    except ValueError as exc:
        raise InferenceCheckError(f"cache prune --remote: {exc}") from None
    if age is None and limit is None:
        raise InferenceCheckError("cache prune --remote needs --max-age (e.g. 30d) or "
                                  "--max-size (e.g. 50G)")
    done = remote.remote_prune(client, max_age_s=age, max_bytes=limit)
    print(f"removed {plural(done['entries'], 'entry', 'entries')} and "
          f"{plural(done['blobs'], 'blob')} ({human(done['bytes'])}) from {args.remote}")
    return 0


def _show(root: Path, entries: list, form: str, limit: int) -> int:
    if form == "json":
        print(json.dumps({"root": str(root), "bytes": sum(e.bytes for e in entries),
                          "entries": [vars(e) for e in entries]}, indent=2))
        return 0
    print(f"{root}: {plural(len(entries), 'entry', 'entries')}, "
          f"{human(sum(e.bytes for e in entries))} "
          f"(cap {human(limit)})")
    now = time.time()
    for e in entries:
        age = _age(now - e.last_used) if e.last_used else "?"
        print(f"  {e.kind:<10} {e.key[:12]}  {human(e.bytes):>10}  used {age:>8} ago  {e.label}")
    return 0


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _report(args: argparse.Namespace) -> int:
    if args.report[0] == "merge":
        return _merge(args)
    if len(args.report) != 1 or not args.html:
        raise InferenceCheckError("report: give one JSON report and --html PATH (or `report "
                                  "merge SHARD.json ...` to merge a sharded run's reports)")
    args.report = args.report[0]
    header, results = json_report.read(args.report)
    try:
        written = html.write(args.html, results, header=header)
    except OSError as exc:
        raise InferenceCheckError(str(exc) if isinstance(exc, WriteError)
                                  else f"cannot write {args.html}: {exc.strerror or exc}") from None
    print(f"HTML report: {written} ({len(results)} checks)")
    return 0


def _merge(args: argparse.Namespace) -> int:
    """N shard reports made one run: its reports, the baseline's ratchet, its exit code."""
    merged = shards.merge(args.report[1:])
    cli = {"inference_check_json": args.json, "inference_check_junit": args.junit,
           "inference_check_html": args.html, "inference_check_baseline": args.baseline,
           "inference_check_update_baseline": args.update_baseline or None}
    s = settings.resolve(cli, {}, "the command line", environ={})
    root = Path.cwd()
    if s.baseline:
        Gate.from_settings(s, root)  # a broken baseline is a usage error, as in a run
    sharded = merged.header["sharded"]
    end = RunEnd(merged.results, s, root, None, merged.interrupted,
                 merged.collected_tests or None, merged.collected_files, sharded=sharded)
    done = write_outputs(end)
    print(f"merged {plural(sharded['count'], 'shard')}: {len(merged.results)} checks")
    for line in terminal_lines(end, done):
        print(line, file=sys.stderr if line.startswith("ERROR:") else sys.stdout)
    github_outputs(end, print)
    failed = any(r.outcome == "failed" and not r.expected_failure for r in merged.results)
    return 2 if merged.interrupted else 1 if failed or done.failed_outputs else 0


def _lint(args: argparse.Namespace) -> int:
    return lint_main(args)


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(prog="inferencecheck", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"pytest-inferencecheck {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("table", help="Print the recommendations table")
    t.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="Output format; default: text")
    t.set_defaults(func=_table)

    r = sub.add_parser("recommend", help="Which row applies to a target and its facts")
    r.add_argument("target", help=f"A deployment target: {', '.join(TARGETS)}")
    r.add_argument("--graph-breaks", type=_count, required=True, help="Measured graph breaks")
    r.add_argument("--aoti-unsupported", action="store_true",
                   help="AOTI cannot compile or run this model here")
    r.add_argument("--fastest-backend", default=None, help="The measured fastest backend")
    r.add_argument("--format", choices=("text", "json"), default="text",
                   help="Output format; default: text")
    r.set_defaults(func=_recommend)

    run = sub.add_parser("run", help="Check one model from the shell")
    run.add_argument("factory", help="package.module:function returning the model, or "
                                     "(model, example_inputs)")
    run.add_argument("--target", action="append", required=True,
                     help="Deployment target(s), comma-separated or repeated")
    run.add_argument("--inputs", default=None, help="package.module:function returning the "
                                                    "example inputs")
    run.add_argument("--name", default=None, help="The model's name in reports; default: factory")
    settings.add_options(run.add_argument, prefix="--", keys=RUN_SETTINGS)
    add_cli_options(run.add_argument)
    run.set_defaults(func=_run)

    c = sub.add_parser("cache", help="Show, prune or clear the artifact store (or the team "
                                     "store: --remote); make a team-store signing key")
    c.add_argument("action", nargs="?", choices=("show", "stats", "prune", "clear", "keygen"),
                   default="show",
                   help="show the entries (default; stats: the same, with --remote the team "
                        "store's counts), prune least recently used ones past the cap (with "
                        "--remote: by --max-age and --max-size), clear every entry not in use, "
                        "or keygen: write a new Ed25519 signing key to --out (and its public "
                        "key to OUT.pub)")
    c.add_argument("--remote", default=os.environ.get("INFERENCECHECK_REMOTE") or None,
                   metavar="URL", help="Act on the team store at URL instead of the local "
                   "store; default: $INFERENCECHECK_REMOTE")
    c.add_argument("--max-age", default=None, help="prune --remote: remove entries published "
                   "longer ago than this (e.g. 30d, 12h)")
    c.add_argument("--out", default=None, metavar="PATH", help="keygen: the private key's path")
    c.add_argument("--cache-dir", default=None, help="The store's directory; default: "
                   "$INFERENCECHECK_CACHE_DIR, else ~/.cache/pytest-inferencecheck")
    c.add_argument("--max-size", default=None, help="The size cap for prune (e.g. 2G); "
                   "default: 5G (with --remote: none)")
    c.add_argument("--format", choices=("text", "json"), default="text",
                   help="Output format for show; default: text")
    c.set_defaults(func=_cache)

    rep = sub.add_parser("report", help="Turn a JSON report (--inference-check-json) into "
                                        "other formats")
    rep.add_argument("report", nargs="+", metavar="REPORT",
                     help="The inferencecheck-report/1 JSON file; or `merge` and the N shard "
                          "reports of a sharded run (--inference-check-shard=K/N)")
    rep.add_argument("--html", default=None, metavar="PATH",
                     help="Write the self-contained HTML page to PATH")
    rep.add_argument("--json", default=None, metavar="PATH",
                     help="merge: write the merged JSON report to PATH")
    rep.add_argument("--junit", default=None, metavar="PATH",
                     help="merge: write the merged JUnit XML report to PATH")
    rep.add_argument("--baseline", default=None, metavar="PATH",
                     help="merge: the graph-break baseline the shards were gated on: its "
                          "stale entries are reported over the whole run")
    rep.add_argument("--update-baseline", action="store_true",
                     help="merge: rewrite the baseline from the merged run's graph breaks")
    rep.set_defaults(func=_report)

    lint = sub.add_parser("lint", help=LINT_DESCRIPTION, description=LINT_DESCRIPTION)
    add_lint_arguments(lint)
    lint.set_defaults(func=_lint)
    p.set_defaults(subcommands=sub.choices)
    return p


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse; an unknown option is reported by the subcommand it was given to, with that
    subcommand's usage (argparse would print the top-level usage)."""
    p = parser()
    args, extra = p.parse_known_args(argv)
    if extra:
        sub = args.subcommands.get(args.command, p)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code."""
    args = parse(argv)
    return guarded(lambda: args.func(args))


def entry() -> Any:  # console script
    """Console-script entry point."""
    sys.exit(main())
