"""What the artifact store saves: cold runs against plain torch, warm reruns, edits, xdist, memory.

    python benchmarks/reuse_benchmark.py [--parts cold,warm,edit,xdist,memory] [--repeat N]

Every figure comes from separate processes. "cold" means an empty artifact store and an empty
inductor cache (INFERENCECHECK_CACHE_DIR and TORCHINDUCTOR_CACHE_DIR point at new directories);
"warm" means the store and inductor cache the cold run left, with nothing changed.

- cold: `pytest --inference-check` on a repository with one model (the small CNN or the tiny
  BERT of examples/) on server-x86-python, server-x86-cpp and mobile-android, against a
  plain-torch script that exports and compiles each target separately (export ->
  aoti_compile_and_package -> load -> run; export -> aoti_compile_and_package for the C++ server;
  export -> to_edge_transform_and_lower -> .pte -> run). Target: plugin / plain <= 0.70 in wall
  time; the CPU time (user + sys of the process and every child) is printed beside it (aim:
  <= 1.0x the plain script's).
- warm: the same pytest command again. Target: warm / cold <= 0.25. Every check still traces and
  exports (the facts are never reused); what is reused comes after the trace.
- edit: one line of the CNN's forward changed; the rerun must rebuild its artifacts and pass.
- xdist: both models on the three targets with `-n 2` from an empty store; every artifact
  must be built exactly once (counted from the JSON report).
- memory: a model with 1 GiB of weights (16 x Linear(4096, 4096)) on each path, peak RSS of
  the pytest process, cold and warm, and of the C++ runner process on its own, against a plain
  eager run of the same model (target: <= 2.0x), and, for context, the same deployment done by
  hand in plain torch (export, compile or lower, load, run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
TARGETS = ("server-x86-python", "server-x86-cpp", "mobile-android")
MODELS = {"cnn": ("example_models.SmallCNN()", "example_models.image_batch()"),
          "bert": ("example_models.tiny_bert()", "example_models.token_ids()")}

TEST = '''
import pytest, torch
import example_models

@pytest.mark.deploy_target({targets})
def test_{name}(inference_check):
    inference_check({model}, {inputs}, name="{name}")
'''

# One target deployed by hand, as a user would without this plugin (no C++ runner).
DEPLOY = '''
def deploy(model, inputs, target, out):
    ep = torch.export.export(model, inputs)
    if target.startswith("server"):
        path = torch._inductor.aoti_compile_and_package(ep, package_path=f"{out}/{target}.pt2")
        if target.endswith("python"):
            torch._inductor.aoti_load_package(path)(*inputs)
        return
    from executorch.exir import to_edge_transform_and_lower
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.runtime import Runtime
    prog = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()]).to_executorch()
    with open(f"{out}/m.pte", "wb") as f:
        prog.write_to_file(f)
    Runtime.get().load_program(f"{out}/m.pte").load_method("forward").execute(list(inputs))
'''

PLAIN = '''
import sys, tempfile, torch
sys.path.insert(0, {examples!r})
import example_models
{deploy}
torch.manual_seed(0)
model, inputs = {model}.eval(), {inputs}
out = tempfile.mkdtemp()
with torch.no_grad():
    for target in {targets!r}:
        deploy(model, inputs, target, out)
'''

FLOOR = '''
import sys, torch
sys.path.insert(0, {examples!r})
import example_models
torch.manual_seed(0)
model, inputs = {model}.eval(), {inputs}
with torch.no_grad():
    model(*inputs)
'''

BIG = '''
class Big(torch.nn.Module):
    """16 x Linear(4096, 4096): 1 GiB of float32 weights."""
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(*[torch.nn.Linear(4096, 4096) for _ in range(16)])
    def forward(self, x):
        return self.layers(x)
'''

EAGER_RSS = '''
import resource, torch
{big}
torch.manual_seed(0)
model = Big().eval()
with torch.no_grad():
    model(torch.randn(1, 4096))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''

DEPLOY_RSS = '''
import resource, sys, tempfile, torch
{big}
{deploy}
torch.manual_seed(0)
model, inputs = Big().eval(), (torch.randn(1, 4096),)
with torch.no_grad():
    model(*inputs)
    deploy(model, inputs, sys.argv[1], tempfile.mkdtemp())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''

RSS_PROBE = '''
import os, resource
def pytest_unconfigure(config):
    if "RSS_OUT" in os.environ:
        with open(os.environ["RSS_OUT"], "w") as f:
            f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
'''

RUNNER_RSS = '''
import subprocess, sys, tempfile, torch
from pathlib import Path
from pytest_inferencecheck.checking.runners import tensor_file
runner, package = sys.argv[1:3]
folder = Path(tempfile.mkdtemp())
tensor_file.write(folder / "in.bin", [torch.randn(1, 4096)])
out = subprocess.run(["/usr/bin/time", "-f", "%M", runner, package, str(folder / "in.bin"),
                      str(folder / "out.bin"), "0"], capture_output=True, text=True, check=True)
print(out.stderr.split()[-1])
'''


def repo(tmp: Path, names: list[str], targets=TARGETS, big: bool = False) -> Path:
    """A model repository: the examples' models module and one marked test per model."""
    folder = tmp / "repo"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / "example_models.py", folder / "example_models.py")
    if big:
        with open(folder / "example_models.py", "a") as f:
            f.write("\n" + BIG)
    (folder / "rss_probe.py").write_text(RSS_PROBE)
    for name in names:
        model, inputs = (("example_models.Big()", "(torch.randn(1, 4096),)") if big
                         else MODELS[name])
        (folder / f"test_{name}.py").write_text(TEST.format(
            targets=", ".join(map(repr, targets)), name=name, model=model, inputs=inputs))
    return folder


def fresh_env(tmp: Path, tag: str) -> dict[str, str]:
    """Environment with new, empty caches (the store and inductor's)."""
    env = dict(os.environ, INFERENCECHECK_CACHE_DIR=str(tmp / f"store-{tag}"),
               TORCHINDUCTOR_CACHE_DIR=str(tmp / f"inductor-{tag}"), PYTHONPATH=str(tmp / "repo"))
    env.pop("INFERENCECHECK", None)
    return env


def cpu_seconds() -> float:
    """User + system time of every child process this one has waited for (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, float] = {}  # CPU seconds of the last run of each kind


def pytest_run(folder: Path, env: dict[str, str], *args: str) -> tuple[float, list[dict], str]:
    """Run the gate; seconds, JSON results, and the tail of its output."""
    report = folder / "report.json"
    report.unlink(missing_ok=True)
    start, cpu = time.perf_counter(), cpu_seconds()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--inference-check", "-q",
                           "-p", "no:cacheprovider", "-p", "rss_probe",
                           f"--inference-check-json={report}", *args],
                          cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    CPU["pytest"] = cpu_seconds() - cpu
    if proc.returncode != 0:
        sys.exit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return seconds, json.loads(report.read_text())["results"], proc.stdout


def plain_run(name: str, env: dict[str, str]) -> float:
    model, inputs = MODELS[name]
    code = PLAIN.format(examples=str(EXAMPLES), model=model, inputs=inputs, targets=TARGETS,
                        deploy=DEPLOY)
    start, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    CPU["plain"] = cpu_seconds() - cpu
    return time.perf_counter() - start


def floor_run(name: str, env: dict[str, str]) -> float:
    """What any run must do: start Python, import torch and the models, build one, run it."""
    model, inputs = MODELS[name]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR.format(examples=str(EXAMPLES), model=model,
                                                       inputs=inputs)],
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def statuses(results: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        for a in r["artifacts"]:
            counts[a["status"]] = counts.get(a["status"], 0) + 1
    return counts


def cold_and_warm(tmp: Path, repeat: int, parts: set[str]) -> None:
    for name in MODELS:
        colds, plains, warms, floors, cold_cpu, plain_cpu = [], [], [], [], [], []
        for i in range(repeat):
            work = tmp / f"{name}-{i}"
            folder = repo(work, [name])
            env = fresh_env(work, "plugin")
            cold, results, _ = pytest_run(folder, env)
            assert all(r["outcome"] == "passed" for r in results), results
            colds.append(cold)
            cold_cpu.append(CPU["pytest"])
            if "warm" in parts:
                warm, again, _ = pytest_run(folder, env)
                assert statuses(again).keys() == {"reused"}, statuses(again)
                warms.append(warm)
                floors.append(floor_run(name, env))
            if "cold" in parts:
                plains.append(plain_run(name, fresh_env(work, "plain")))
                plain_cpu.append(CPU["plain"])
        c = statistics.median(colds)
        print(f"{name} on {', '.join(TARGETS)} ({repeat} run(s), medians):")
        if plains:
            p = statistics.median(plains)
            print(f"  cold (empty store and inductor cache): plugin {c:.1f} s vs plain torch "
                  f"{p:.1f} s: ratio {c / p:.2f} (target <= 0.70)")
            cc, pc = statistics.median(cold_cpu), statistics.median(plain_cpu)
            print(f"    CPU time (user + sys, all processes): plugin {cc:.1f} s vs plain torch "
                  f"{pc:.1f} s: ratio {cc / pc:.2f} (aim <= 1.0)")
        if warms:
            w = statistics.median(warms)
            f = statistics.median(floors)
            print(f"  warm rerun, nothing changed (the store and inductor cache the cold run "
                  f"left): {w:.1f} s vs cold {c:.1f} s: ratio {w / c:.2f} (target <= 0.25)")
            print(f"    of which any run's floor (Python, torch, the models module, building and "
                  f"running the model once, no pytest): {f:.1f} s")


def edit(tmp: Path) -> None:
    work = tmp / "edit"
    folder = repo(work, ["cnn"])
    env = fresh_env(work, "plugin")
    pytest_run(folder, env)
    source = folder / "example_models.py"
    text = source.read_text()
    line = "        return self.head(self.features(x).flatten(1))"
    assert line in text
    source.write_text(text.replace(line, line + " * 2"))
    seconds, results, _ = pytest_run(folder, env)
    rebuilt = sorted({(a["kind"], a["status"]) for r in results for a in r["artifacts"]
                      if a["status"] != "reused"})
    ok = all(r["outcome"] == "passed" for r in results)
    print(f"edit: one line of SmallCNN.forward changed: rerun {seconds:.1f} s, "
          f"{'passed' if ok else 'FAILED'}; not reused: {rebuilt}")


def xdist(tmp: Path) -> None:
    work = tmp / "xdist"
    folder = repo(work, list(MODELS))
    seconds, results, _ = pytest_run(folder, fresh_env(work, "plugin"), "-n", "2")
    built = [(a["kind"], a["key"]) for r in results for a in r["artifacts"]
             if a["status"] != "reused"]
    twice = {k for k in built if built.count(k) > 1}
    kinds = {k: sum(1 for kind, _ in built if kind == k) for k, _ in built}
    print(f"xdist -n 2, {len(MODELS)} models x {len(TARGETS)} targets: {len(results)} items in "
          f"{seconds:.1f} s; built {len(built)} entries {kinds}; built more than once: "
          f"{len(twice)}")


def memory(tmp: Path) -> None:
    work = tmp / "memory"
    eager_env = fresh_env(work, "eager")
    eager = int(subprocess.run([sys.executable, "-c", EAGER_RSS.format(big=BIG)], env=eager_env,
                               check=True, capture_output=True, text=True).stdout.split()[-1])
    print(f"memory: plain eager run of the 1 GiB model: peak RSS {eager / 2**20:.2f} GiB")
    for target in TARGETS:
        if not target.endswith("-cpp"):  # what torch itself costs: the same deployment by hand
            by_hand = int(subprocess.run([sys.executable, "-c", DEPLOY_RSS.format(big=BIG, deploy=DEPLOY),
                                          target], env=fresh_env(work / target, "hand"),
                                         check=True, capture_output=True,
                                         text=True).stdout.split()[-1])
            print(f"  {target}: the same deployment by hand in plain torch peaks at "
                  f"{by_hand / 2**20:.2f} GiB = {by_hand / eager:.2f}x eager")
        folder = repo(work / target, ["big"], targets=(target,), big=True)
        env = fresh_env(work / target, "plugin")
        for state in ("cold", "warm"):
            out = work / target / f"rss-{state}"
            env["RSS_OUT"] = str(out)
            seconds, results, _ = pytest_run(folder, env)
            own = int(out.read_text())
            print(f"  {target} ({state}, {seconds:.0f} s, {results[0]['outcome']}): pytest "
                  f"process {own / 2**20:.2f} GiB = {own / eager:.2f}x eager (target <= 2.0x)")
        if target.endswith("-cpp"):  # the runner is a process of its own: measure it alone
            store = Path(env["INFERENCECHECK_CACHE_DIR"]) / "v1" / "entries"
            runner = next(store.glob("runner/*/inferencecheck-aoti-runner"))
            package = next(store.glob("aoti/*/model.pt2"))
            kib = int(subprocess.run([sys.executable, "-c", RUNNER_RSS, str(runner),
                                      str(package)], env=env, check=True, capture_output=True,
                                     text=True).stdout.split()[-1])
            print(f"  {target}: the C++ runner process alone {kib / 2**20:.2f} GiB = "
                  f"{kib / eager:.2f}x eager")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="cold,warm,edit,xdist,memory",
                        help="Comma-separated parts to run; default: all")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per cold/warm figure")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, separate processes\n")
    with tempfile.TemporaryDirectory(prefix="reuse-bench-") as tmp:
        if parts & {"cold", "warm"}:
            cold_and_warm(Path(tmp), args.repeat, parts)
        if "edit" in parts:
            edit(Path(tmp))
        if "xdist" in parts:
            xdist(Path(tmp))
        if "memory" in parts:
            memory(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
