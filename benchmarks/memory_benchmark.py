"""Peak memory of a check against eager's and against torch by hand, on a model of 1 GiB.

    python benchmarks/memory_benchmark.py [--size 16384] [--target server-x86-python]

Each figure is the peak memory of a separate process tree (its helpers, compile workers and
C++ runner included), sampled every 10 ms from /proc: the sum of each process's proportional
set size (Pss: a page shared by two processes counts half in each, so the sum is the memory
the tree really holds; a lone process's Pss is its RSS, what `/usr/bin/time` reports):

- eager: build `Linear(size, size)` (size 16384: 1 GiB of float32 weights) and run it once.
- torch by hand: the same, then the path a user would write for the target, with nothing
  freed early: export, `aoti_compile_and_package`, `aoti_load_package`, run (server-*-python);
  export, `to_edge_transform_and_lower` with XNNPACK, `to_executorch`, run in the ExecuTorch
  runtime (mobile-*, edge).
- plugin, cold: `check(model, inputs, target, store=EMPTY)`.
- plugin, warm: the same check again over the store the cold one left.

Ratios are against eager, the goal of issue 35: plugin cold <= 2.0x (stretch 1.5x),
ExecuTorch <= 2.0x.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PRELUDE = """
import sys, torch
torch.manual_seed(0)
size = int(sys.argv[1])
model = torch.nn.Linear(size, size).eval()
x = torch.randn(1, size)
with torch.no_grad():
    model(x)
"""

SCRIPTS = {
    "eager": "",
    "torch by hand, server-x86-python": """
import torch._inductor
program = torch.export.export(model, (x,))
path = torch._inductor.aoti_compile_and_package(program, package_path=sys.argv[2] + "/m.pt2")
loaded = torch._inductor.aoti_load_package(path)
with torch.no_grad():
    torch.testing.assert_close(loaded(x), model(x), atol=1e-3, rtol=1e-3)
""",
    "torch by hand, mobile-android": """
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.exir import to_edge_transform_and_lower
from executorch.runtime import Runtime
program = torch.export.export(model, (x,))
et = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch()
method = Runtime.get().load_program(et.buffer).load_method("forward")
torch.testing.assert_close(method.execute([x])[0], model(x), atol=1e-3, rtol=1e-3)
""",
    "plugin": """
from pytest_inferencecheck import check
result = check(model, (x,), sys.argv[3], store=sys.argv[2] + "/store")
assert result.outcome == "passed", result.failures
""",
}


def tree_rss(root: int) -> int:
    """Proportional resident bytes of `root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def peak(script: str, size: int, work: str, target: str) -> tuple[float, float]:
    """Peak tree RSS (bytes) and wall seconds of one scenario."""
    # this sampler's own scans of /proc would read as another process's load and make the
    # plugin's latency noisy (its run then not recorded, and the warm rerun loads the artifact)
    env = {**os.environ, "INFERENCECHECK_QUIET_LOAD": "1"}
    proc = subprocess.Popen([sys.executable, "-c", PRELUDE + script, str(size), work, target],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    top = [0]

    def sample() -> None:
        while proc.poll() is None:
            top[0] = max(top[0], tree_rss(proc.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    start = time.perf_counter()
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{script.strip().splitlines()[0] if script else 'eager'} failed:\n{err[-3000:]}")
    return top[0], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--target", default="server-x86-python")
    args = parser.parse_args()
    hand = "mobile-android" if args.target.startswith(("mobile", "edge")) else "server-x86-python"
    with tempfile.TemporaryDirectory() as work:
        env_cache = os.path.join(work, "inductor")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = env_cache  # cold: nothing compiled before
        rows = [("eager", *peak(SCRIPTS["eager"], args.size, work, args.target))]
        rows.append((f"torch by hand ({hand})",
                     *peak(SCRIPTS[f"torch by hand, {hand}"], args.size, work, args.target)))
        rows.append(("plugin, cold store", *peak(SCRIPTS["plugin"], args.size, work,
                                                 args.target)))
        rows.append(("plugin, warm store", *peak(SCRIPTS["plugin"], args.size, work,
                                                 args.target)))
    base = rows[0][1]
    print(f"Linear({args.size}, {args.size}): {args.size * (args.size + 1) * 4 / 2**30:.2f} GiB "
          f"of weights; target {args.target}; peak memory (Pss) of each process tree, cold "
          "inductor cache")
    for name, rss, wall in rows:
        print(f"  {name:<36} {rss / 2**30:6.2f} GiB  {rss / base:5.2f}x eager   {wall:6.1f} s")


if __name__ == "__main__":
    main()
