"""The quick level against the plain-torch facts it stands for.

    python benchmarks/quick_benchmark.py [--repeat N]

Every figure is the wall time of a separate process, imports included:

- plugin (cold): `pytest --inference-check-only --inference-check-level=quick` on a repository
  with the examples' four models (the small CNN first, so it pays Dynamo's first-use cost), each
  marked for three targets (server-x86-python, server-x86-cpp, mobile-android: 12 items), with
  an empty artifact store.
- plugin (warm): the same command again over the store the cold run left (the facts are
  measured again: nothing of a trace is stored; only torch's own caches are warm).
- plugin alone (cold): as plugin (cold), with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 and only this
  plugin loaded: what this package costs, without the other pytest plugins the environment
  happens to install (executorch's dependencies bring hypothesis, hydra, anyio, kgb: about 1 s
  of imports here).
- plain: one Python process that imports torch and the models and runs, per model,
  `torch._dynamo.explain(model)(*inputs)` and `torch.export.export(model, inputs)` (the same
  facts, without a row, a report or a store).

Target (issue 35): plugin (cold) / plain <= 1.0: one call's targets share one trace, so 12
items trace 4 times, as the plain script does. Also printed: the small CNN's own quick check (the sum of
its stages in the cold run's JSON report; target < 1.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODELS = {  # name -> (model, inputs), as examples/test_models.py builds them
    "cnn": ("zoo.SmallCNN()", "zoo.image_batch()"),
    "bert": ("zoo.tiny_bert()", "zoo.token_ids()"),
    "ranker": ("zoo.ScoredRanker()", "(torch.randn(4, 16),)"),
    "gpt2": ("zoo.tiny_gpt2()", "zoo.token_ids()"),
}

TESTS = "import pytest, torch\nimport example_models as zoo\n" + "".join(f'''
@pytest.mark.deploy_target("server-x86-python", "server-x86-cpp", "mobile-android")
def test_{name}(inference_check):
    inference_check({model}, {inputs}, name="{name}")
''' for name, (model, inputs) in MODELS.items())

PLAIN = "import torch, sys\nsys.path.insert(0, sys.argv[1])\nimport example_models as zoo\n" + \
    "".join(f'''
torch.manual_seed(0)
model, inputs = {model}.eval(), {inputs}
torch._dynamo.reset()
torch._dynamo.explain(model)(*inputs)
try:
    torch.export.export(model, inputs)
except Exception:
    pass
''' for model, inputs in MODELS.values())


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: a check failed, which is still a measured run
        sys.exit(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cold, warm, alone, plain, cnn, floor, plain_floor = [], [], [], [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "test_quick_models.py").write_text(TESTS)
            env = {**os.environ, "INFERENCECHECK_CACHE_DIR": str(work / "store"),
                   "TORCHINDUCTOR_CACHE_DIR": str(work / "inductor"),
                   "PYTHONPATH": os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")])}
            pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                      "--inference-check-only", "--inference-check-level=quick",
                      "--inference-check-json=r.json", "test_quick_models.py"]
            cold.append(timed(pytest, env, work))
            report = json.loads((work / "r.json").read_text())
            cnn.append(sum(s["seconds"] for r in report["results"] if r["model"] == "cnn"
                           for s in r["stages"]))
            warm.append(timed(pytest, env, work))
            bare = {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                    "INFERENCECHECK_CACHE_DIR": str(work / "store-alone")}
            alone.append(timed([*pytest[:3], "-p", "pytest_inferencecheck.plugin", *pytest[3:]],
                               bare, work))
            floor.append(timed([*pytest[:6], "--co", "test_quick_models.py"], env, work))
            plain_floor.append(timed([sys.executable, "-c", "import torch, example_models"],
                                     env, work))
            (work / "plain.py").write_text(PLAIN)
            plain.append(timed([sys.executable, "plain.py", str(EXAMPLES)], env, work))
    med = statistics.median
    print(f"models: {', '.join(MODELS)}, each on server-x86-python, server-x86-cpp and "
          f"mobile-android; median of {args.repeat} runs")
    print(f"plain torch (explain + export, one process):  {med(plain):6.2f} s")
    print(f"plugin quick, cold store:                      {med(cold):6.2f} s   "
          f"ratio {med(cold) / med(plain):.2f} (target <= 1.0)")
    print(f"plugin quick, warm store and caches:          {med(warm):6.2f} s   "
          f"ratio {med(warm) / med(plain):.2f}")
    print(f"plugin alone (no other pytest plugins), cold:  {med(alone):6.2f} s   "
          f"ratio {med(alone) / med(plain):.2f}")
    work, plain_work = med(cold) - med(floor), med(plain) - med(plain_floor)
    print(f"pytest's own start and exit (the file collected, nothing run): {med(floor):6.2f} s;"
          f" python importing torch and the models: {med(plain_floor):.2f} s")
    print(f"the work alone (less those): plugin {work:.2f} s vs plain {plain_work:.2f} s: "
          f"ratio {work / plain_work:.2f}")
    print(f"small CNN's own quick check (cold, its stages): {med(cnn):6.2f} s   (target < 1.5 s)")


if __name__ == "__main__":
    main()
