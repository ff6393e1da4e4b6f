"""Where does aoti_load_package segfault on CUDA? Each variant runs in its own process.

Run on a GPU machine from the repository root: `python3 .ci/cuda/repro.py [VARIANT...]`.
plain-*: torch alone (no pytest-inferencecheck); reload: load stored packages in a fresh
process; api-*: `check()` without pytest; pytest-noplugins-*: the plugin with every other plugin
off. Seen on torch 2.11.0+cu130 (H100): every in-process load segfaults, the C++ runner works.
"""
import subprocess
import sys
import time

PLAIN = """
import torch, sys
sys.path.insert(0, "examples")
import example_models as zoo
which = sys.argv[1]
if which == "linear":
    m, x = torch.nn.Linear(8, 4).cuda().eval(), (torch.randn(2, 8, device="cuda"),)
else:
    m = zoo.SmallCNN().cuda().eval(); x = tuple(t.cuda() for t in zoo.image_batch())
with torch.no_grad():
    ep = torch.export.export(m, x)
    p = torch._inductor.aoti_compile_and_package(ep, package_path=f"/tmp/{which}.pt2")
    print("compiled", p, flush=True)
    loaded = torch._inductor.aoti_load_package(p)
    print("loaded", flush=True)
    print("max diff", (loaded(*x) - m(*x)).abs().max().item(), flush=True)
"""
RELOAD = """
import torch, sys, glob
for p in sorted(glob.glob('/tmp/ic-store/v1/entries/aoti/*/model.pt2')) + ['/tmp/linear.pt2']:
    print('loading', p, flush=True)
    torch._inductor.aoti_load_package(p)
    print('ok', flush=True)
"""
API = """
import torch, sys
sys.path.insert(0, "examples")
import example_models as zoo
from pytest_inferencecheck.checking.api import check
r = check(zoo.SmallCNN(), zoo.image_batch(), sys.argv[1], name="cnn", store="/tmp/api-store")
print(r.outcome, r.proxy, [(f.stage, f.message[:300]) for f in r.failures], [(s.name, s.status) for s in r.stages], flush=True)
"""
NOPLUG = ["-p", "no:hypothesispytest", "-p", "no:jaxtyping", "-p", "no:benchmark", "-p", "no:cov",
          "-p", "no:anyio", "-p", "no:xdist", "-p", "no:pytest_mock", "-p", "no:timeout"]
PYTEST = [sys.executable, "-X", "faulthandler", "-m", "pytest", "-p", "pytest_inferencecheck.plugin",
          "-p", "no:cacheprovider", "--inference-check", "-v", "--inference-check-cache-dir=/tmp/pt-store"]
VARIANTS = [
    ("plain-linear", [sys.executable, "-c", PLAIN, "linear"]),
    ("plain-cnn", [sys.executable, "-c", PLAIN, "cnn"]),
    ("reload", [sys.executable, "-c", RELOAD]),
    ("api-cuda-python", [sys.executable, "-c", API, "server-cuda-python"]),
    ("api-cuda-cpp", [sys.executable, "-c", API, "server-cuda-cpp"]),
    ("pytest-noplugins-cnn-python", PYTEST + NOPLUG + [".ci/cuda/test_cuda_targets.py::test_cnn"]),
]
only = sys.argv[1:]
for name, cmd in VARIANTS:
    if only and name not in only:
        continue
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = "timeout", (e.stdout or b"").decode() + (e.stderr or b"").decode()
    lines = [l for l in out.splitlines() if not l.startswith("  File") and "Extension modules" not in l]
    print(f"===== {name}: rc={rc} in {time.time()-t:.0f}s")
    print("\n".join(lines[-25:]), flush=True)
