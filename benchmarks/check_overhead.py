"""What a check costs over doing the same deployment by hand, and where its time goes.

    python benchmarks/check_overhead.py

For a small CNN and a tiny BERT: a plain-torch baseline (export -> aoti_compile_and_package ->
aoti_load_package -> run) and check(target="server-x86-python") run in this process with
inductor's caches disabled, so both compile cold; the ratio is check / baseline. Then the stage
times of check() on the C++ (server-x86-cpp) and ExecuTorch (mobile-android) paths.
"""

from __future__ import annotations

import os

os.environ["TORCHINDUCTOR_FORCE_DISABLE_CACHES"] = "1"  # both sides compile from scratch

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from pytest_inferencecheck import check  # noqa: E402

import example_models as zoo  # noqa: E402


def baseline(model: torch.nn.Module, inputs: tuple) -> float:
    """The deployment a user would do by hand, without any checking."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        ep = torch.export.export(model.eval(), inputs)
        path = torch._inductor.aoti_compile_and_package(ep, package_path=f"{tmp}/m.pt2")
        torch._inductor.aoti_load_package(path)(*inputs)
    return time.perf_counter() - start


def stages(result) -> str:  # type: ignore[no-untyped-def]
    return ", ".join(f"{s.name} {s.seconds:.2f}s" for s in result.stages)


def main() -> int:
    torch.manual_seed(0)
    models = {"cnn": (zoo.SmallCNN, zoo.image_batch), "bert": (zoo.tiny_bert, zoo.token_ids)}
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, inductor caches disabled\n")
    # Pay inductor's one-time, per-process start-up outside both measurements.
    baseline(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU()), (torch.ones(1, 3),))
    for name, (factory, inputs) in models.items():
        x = inputs()
        base = baseline(factory(), x)
        start = time.perf_counter()
        r = check(factory(), x, "server-x86-python", name=name)
        ours = time.perf_counter() - start
        print(f"{name}: plain torch {base:.2f}s, check() {ours:.2f}s, ratio {ours / base:.2f} "
              f"({r.outcome}, row {r.recommendation.row})")
        print(f"  stages: {stages(r)}")
        print(f"  latency: eager {r.latency.eager_ms:.3f} ms, aoti-python "
              f"{r.latency.artifact_ms:.3f} ms")
        for target in ("server-x86-cpp", "mobile-android"):
            r = check(factory(), x, target, name=name)
            print(f"  {target} ({r.outcome}, row {r.recommendation.row}): {stages(r)}; latency "
                  f"eager {r.latency.eager_ms:.3f} ms, artifact {r.latency.artifact_ms:.3f} ms")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
