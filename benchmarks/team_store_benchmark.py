"""What the team store (--inference-check-remote) saves a second machine, and what publishing costs.

    python benchmarks/team_store_benchmark.py [--repeat N]

A real S3 server runs in this process (moto's ThreadedMotoServer: real HTTP and the S3 API, on
loopback); every check runs as a separate `pytest --inference-check` process on the small CNN of
examples/ on server-x86-python, server-x86-cpp and mobile-android. Each "machine" has its own
artifact store and its own inductor cache.

- cold: an empty local store, an empty inductor cache, no remote (the baseline).
- publish: the same, cold, publishing to an empty team store (CI on the default branch).
  Target: publish / cold <= 1.05 in wall time.
- team: a second machine (empty local store, empty inductor cache) reading the team store the
  publishing run filled. Target: team / cold <= 0.30 in wall time; the bytes downloaded printed.
- warm: the first machine again with its own warm local store, for context (0.245 measured
  when the store landed).

With --repeat N each figure is the median of N runs (each on fresh directories and buckets).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from reuse_benchmark import fresh_env, pytest_run, repo  # noqa: E402
from team_store import keypair, s3_server  # noqa: E402


def one_round(tmp: Path) -> dict[str, float]:
    folder = repo(tmp, ["cnn"])
    with s3_server() as s3:
        key, public = keypair(tmp)
        cold, first, _ = pytest_run(folder, fresh_env(tmp, "cold"))
        publish, published, out = pytest_run(
            folder, {**fresh_env(tmp, "ci"), **s3.env}, f"--inference-check-remote={s3.url()}",
            "--inference-check-remote-write", f"--inference-check-remote-signing-key={key}")
        team, fetched, out = pytest_run(
            folder, {**fresh_env(tmp, "laptop"), **s3.env}, f"--inference-check-remote={s3.url()}",
            f"--inference-check-remote-trusted-keys={public}")
        warm, _, _ = pytest_run(folder, fresh_env(tmp, "cold"))
    verdicts = [sorted((r["target"], r["outcome"]) for r in rs)
                for rs in (first, published, fetched)]
    if not verdicts[0] == verdicts[1] == verdicts[2]:
        sys.exit(f"the verdicts differ: {verdicts}")
    statuses = {a["status"] for r in fetched for a in r["artifacts"]}
    if "built" in statuses or "rebuilt" in statuses:
        sys.exit(f"the second machine built something: {statuses}")
    down = sum(a["bytes"] for r in fetched for a in r["artifacts"] if a["status"] == "fetched")
    up = sum(a.get("published") or 0 for r in published for a in r["artifacts"])
    return {"cold": cold, "publish": publish, "team": team, "warm": warm,
            "down": float(down), "up": float(up)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rounds = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="team-bench-") as tmp:
            rounds.append(one_round(Path(tmp)))
    fig = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"CNN on 3 targets, wall seconds (median of {len(rounds)}):")
    print(f"  cold, no remote (empty store, empty inductor cache)   {fig['cold']:7.2f} s")
    print(f"  cold, publishing to an empty team store                {fig['publish']:7.2f} s"
          f"   ratio {fig['publish'] / fig['cold']:.3f} (target <= 1.05), "
          f"{fig['up'] / 2**20:.1f} MiB up")
    print(f"  second machine, empty store, warm team store           {fig['team']:7.2f} s"
          f"   ratio {fig['team'] / fig['cold']:.3f} (target <= 0.30), "
          f"{fig['down'] / 2**20:.1f} MiB down")
    print(f"  first machine again, warm local store (context)        {fig['warm']:7.2f} s"
          f"   ratio {fig['warm'] / fig['cold']:.3f}")
    print("rerun: python benchmarks/team_store_benchmark.py --repeat 3")


if __name__ == "__main__":
    main()
