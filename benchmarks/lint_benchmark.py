"""Lint a large real tree (the installed `transformers`) and compare with torchfix.

    python benchmarks/lint_benchmark.py [--tree PATH] [--sample N] [--seed S] [--skip-torchfix]
                                        [--torchfix PATH] [--precision N]

Three runs of `inferencecheck lint` on the tree, each a fresh process as a user starts it:
cold (an empty cache: every file parsed and checked, in one worker per core), warm (the same
cache, the tree unchanged) and serial (--no-cache, one process: the linter alone). Then, if
`torchfix` is installed (`pip install torchfix`, or --torchfix PATH), its wall time on the same
tree, also a subprocess, and the ratios. With --sample N it prints N random findings per IC3xx
rule for a precision review; with --precision N, N findings drawn with the seed from the
installed `transformers` and `torch` together, each with its line and the lines around it, to
be read by hand (the issue's 40-finding sample: --precision 40 --seed 0).
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_inferencecheck.lint.config import LintConfig
from pytest_inferencecheck.lint.engine import default_jobs, lint_paths


def default_tree() -> Path:
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("transformers is not installed; pass --tree PATH")
    return Path(list(spec.submodule_search_locations)[0])


def _lint_process(tree: Path, *args: str, jobs: str | None = None) -> float:
    """Seconds for `inferencecheck lint` on the tree in a fresh process (exit 0 or 1)."""
    env = dict(os.environ)
    env.pop("GITHUB_WORKSPACE", None)
    if jobs:
        env["INFERENCECHECK_LINT_JOBS"] = jobs
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "lint", "--isolated",
                           "--select", "IC", "--exit-zero", "--statistics", *args, "."],
                          capture_output=True, text=True, env=env, cwd=tree)  # as from its root
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"inferencecheck lint exited {proc.returncode}: {proc.stderr[-2000:]}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=None)
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-torchfix", action="store_true", help="Do not time torchfix")
    ap.add_argument("--torchfix", default=None, help="The torchfix executable to time")
    ap.add_argument("--torchfix-seconds", type=float, default=None,
                    help="TorchFix's time measured earlier on this machine (its run takes "
                         "half an hour): report the ratios against it instead of running it")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="Time cold and warm N times each (a fresh empty cache for every cold "
                         "run) and report the median, with the fastest and slowest")
    ap.add_argument("--precision", type=int, default=0, metavar="N",
                    help="Print N findings drawn with --seed from transformers and torch")
    args = ap.parse_args()
    tree = args.tree or default_tree()

    result = lint_paths([str(tree)], LintConfig(select=("IC",)), root=tree, jobs=1)
    by_rule = collections.Counter(f.code for f in result.findings)
    print(f"tree: {tree} ({result.files} files, {len(result.findings)} findings, "
          f"{len(result.errors)} unparsable)")
    for code, n in sorted(by_rule.items()):
        print(f"  {code}: {n}")
    colds, warms = [], []
    for _ in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory() as cache:
            colds.append(_lint_process(tree, "--cache-dir", cache))
            time.sleep(2.5)  # past the index's 2 s settling window for files the run wrote
            warms.append(_lint_process(tree, "--cache-dir", cache))
    cold, warm = statistics.median(colds), statistics.median(warms)
    serial = _lint_process(tree, "--no-cache", jobs="1")
    spread = (lambda xs: f" (median of {len(xs)}: {min(xs):.2f}-{max(xs):.2f}s)"
              if len(xs) > 1 else "")
    print(f"inferencecheck lint, cold (empty cache, {default_jobs()} workers): {cold:.2f}s = "
          f"{result.files / cold:.0f} files/s{spread(colds)}")
    print(f"inferencecheck lint, warm (same cache, unchanged tree, index read): {warm:.2f}s "
          f"{spread(warms)}(target <= 1 s: {'met' if warm <= 1 else 'NOT met'})")
    print(f"inferencecheck lint, no cache, one process:     {serial:.2f}s")

    beside = Path(sys.executable).parent / "torchfix"
    torchfix = args.torchfix or shutil.which("torchfix") or (str(beside) if beside.exists()
                                                              else None)
    if args.torchfix_seconds:
        theirs = args.torchfix_seconds
        print(f"torchfix (given, measured earlier): {theirs:.2f}s; torchfix / cold = "
              f"{theirs / cold:.0f}x (target >= 100x: "
              f"{'met' if theirs / cold >= 100 else 'NOT met'}), torchfix / warm = "
              f"{theirs / warm:.0f}x")
    elif torchfix and not args.skip_torchfix:
        start = time.perf_counter()
        proc = subprocess.run([torchfix, str(tree)], capture_output=True, text=True)
        theirs = time.perf_counter() - start
        print(f"torchfix: {theirs:.2f}s ({result.files / theirs:.0f} files/s), exit "
              f"{proc.returncode}; torchfix / cold = {theirs / cold:.0f}x (target >= 100x: "
              f"{'met' if theirs / cold >= 100 else 'NOT met'}), torchfix / warm = "
              f"{theirs / warm:.0f}x")
    elif args.skip_torchfix:
        print("torchfix: skipped (--skip-torchfix)")
    else:
        print("torchfix: not installed (pip install torchfix) - no comparison")

    if args.sample:
        rng = random.Random(args.seed)
        for code in sorted(c for c in by_rule if c.startswith("IC3")):
            found = [f for f in result.findings if f.code == code]
            print(f"\n--- {code}: {min(args.sample, len(found))} of {len(found)} ---")
            for f in rng.sample(found, min(args.sample, len(found))):
                line = (tree / f.path).read_text().splitlines()[f.line - 1].strip()
                print(f"{f.path}:{f.line}: {line[:110]}")
    if args.precision:
        precision_sample(args.precision, args.seed)
    print("\nrerun: python " + " ".join(sys.argv))
    return 0


def precision_sample(n: int, seed: int) -> None:
    """N findings drawn with `seed` from the installed transformers and torch together, each
    with the two lines before it, for reading by hand."""
    import torch
    import transformers

    found = []
    for module in (transformers, torch):
        root = Path(module.__file__).parent
        result = lint_paths([str(root)], LintConfig(select=("IC",)), root=root.parent, jobs=None)
        found += [(root.parent, f) for f in result.findings]
    found.sort(key=lambda rf: (rf[1].path, rf[1].line, rf[1].col, rf[1].code))
    picked = random.Random(seed).sample(found, min(n, len(found)))
    print(f"\n--- precision sample: {len(picked)} of {len(found)} findings (seed {seed}) ---")
    for i, (root, f) in enumerate(sorted(picked, key=lambda rf: (rf[1].code, rf[1].path)), 1):
        lines = (root / f.path).read_text(encoding="utf-8", errors="replace").splitlines()
        print(f"\n[{i}] {f.path}:{f.line}:{f.col} {f.code}")
        for k in range(max(1, f.line - 2), f.line + 1):
            print(f"  {'>' if k == f.line else ' '} {k:>5} {lines[k - 1][:120]}")


if __name__ == "__main__":
    sys.exit(main())
