"""What sharding buys a repository on two runners: 2 shards side by side against one process.

    python benchmarks/shard_benchmark.py [--items 12]

A repository of `--items` distinct models (each its own Linear stack, so nothing is shared
between items) on server-x86-python, checked at the full level. Every figure is cold: each
process has its own empty artifact store and empty inductor cache.

1. one process runs every item (the baseline), writing its JSON report;
2. the same items as two shards (`--inference-check-shard=1/2` and `2/2`), started side by side,
   balanced by the baseline's recorded durations (`--inference-check-durations`), each on its
   own store as two CI jobs would be; then `inferencecheck report merge` checks that the merged
   verdicts equal the baseline's.

Target: the slowest shard's wall time <= 0.6 of the one-process run (two runners' worth of work
on this 2-core machine: each shard has a core). Printed with the command to rerun it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TEST = '''
import pytest, torch
from torch import nn

{tests}
'''

ITEM = '''
@pytest.mark.deploy_target("server-x86-python")
def test_m{i:02d}(inference_check):
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear({w}, {w}) for _ in range({depth})], nn.ReLU())
    inference_check(model, (torch.randn(2, {w}),), name="m{i:02d}")
'''


def repo(folder: Path, items: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tests = "".join(ITEM.format(i=i, w=8 + i, depth=1 + i % 4) for i in range(items))
    (folder / "test_items.py").write_text(TEST.format(tests=tests))


def start(folder: Path, tag: str, *options: str) -> subprocess.Popen:
    env = dict(os.environ, INFERENCECHECK_CACHE_DIR=str(folder / f"store-{tag}"),
               TORCHINDUCTOR_CACHE_DIR=str(folder / f"inductor-{tag}"))
    env.pop("INFERENCECHECK", None)
    return subprocess.Popen([sys.executable, "-m", "pytest", "--inference-check", "-q",
                             "-p", "no:cacheprovider", f"--inference-check-json={tag}.json",
                             *options], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"pytest failed ({proc.returncode}):\n{out[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shard-bench-") as tmp:
        folder = Path(tmp)
        repo(folder, args.items)
        began = time.perf_counter()
        finish(start(folder, "whole"))
        whole = time.perf_counter() - began
        began = time.perf_counter()
        procs = [start(folder, f"shard-{k}", f"--inference-check-shard={k}/2",
                       "--inference-check-durations=whole.json") for k in (1, 2)]
        ends = [0.0, 0.0]

        def wait(k: int) -> None:
            procs[k].wait()
            ends[k] = time.perf_counter() - began

        waiters = [threading.Thread(target=wait, args=(k,)) for k in (0, 1)]
        for w in waiters:
            w.start()
        for w, proc in zip(waiters, procs):
            w.join()
            finish(proc)
        merged = subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "report",
                                 "merge", "shard-1.json", "shard-2.json", "--json", "all.json"],
                                cwd=folder, capture_output=True, text=True)
        if merged.returncode != 0:
            sys.exit(merged.stdout + merged.stderr)

        def verdicts(name: str) -> list:
            return [(r["nodeid"], r["outcome"], r["recommendation"]["row"])
                    for r in json.loads((folder / name).read_text())["results"]]

        if verdicts("all.json") != verdicts("whole.json"):
            sys.exit("the merged verdicts differ from the one-process run's")
        groups = [len(json.loads((folder / f"shard-{k}.json").read_text())["shard"]["groups"])
                  for k in (1, 2)]
    slowest = max(ends)
    print(f"{args.items} items on server-x86-python, full level, cold (empty stores and "
          "inductor caches):")
    print(f"  one process                               {whole:7.1f} s")
    print(f"  2 shards side by side, slowest            {slowest:7.1f} s   ratio "
          f"{slowest / whole:.3f} (target <= 0.6); items {groups[0]} + {groups[1]}, "
          f"shards took {ends[0]:.1f} s and {ends[1]:.1f} s")
    print(f"rerun: python benchmarks/shard_benchmark.py --items {args.items}")


if __name__ == "__main__":
    main()
