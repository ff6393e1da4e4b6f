"""Lint a large real tree (the installed `transformers`) and compare with torchfix.

    python benchmarks/lint_benchmark.py [--tree PATH] [--sample N] [--seed S] [--skip-torchfix]

Reports files per second, findings per rule, and, if `torchfix` is installed
(`pip install torchfix`), its wall time on the same tree, run in the same way (a subprocess).
With --sample N it prints N random findings per IC3xx rule for a precision review.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pytest_inferencecheck.lint.config import LintConfig
from pytest_inferencecheck.lint.engine import lint_paths


def default_tree() -> Path:
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("transformers is not installed; pass --tree PATH")
    return Path(list(spec.submodule_search_locations)[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=None)
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-torchfix", action="store_true", help="Do not time torchfix")
    args = ap.parse_args()
    tree = args.tree or default_tree()

    start = time.perf_counter()
    result = lint_paths([str(tree)], LintConfig(select=("IC",)), root=tree)
    ours = time.perf_counter() - start
    by_rule = collections.Counter(f.code for f in result.findings)
    print(f"tree: {tree}")
    print(f"inferencecheck lint (all rules): {result.files} files in {ours:.2f}s = "
          f"{result.files / ours:.0f} files/s; {len(result.findings)} findings, "
          f"{len(result.errors)} unparsable")
    for code, n in sorted(by_rule.items()):
        print(f"  {code}: {n}")

    beside = Path(sys.executable).parent / "torchfix"
    torchfix = shutil.which("torchfix") or (str(beside) if beside.exists() else None)
    if torchfix and not args.skip_torchfix:
        start = time.perf_counter()
        proc = subprocess.run([torchfix, str(tree)], capture_output=True, text=True)
        theirs = time.perf_counter() - start
        print(f"torchfix: {theirs:.2f}s ({result.files / theirs:.0f} files/s), exit "
              f"{proc.returncode}; ratio torchfix/inferencecheck = {theirs / ours:.1f}x")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
