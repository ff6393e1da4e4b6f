"""What torch.compile and torch.export really do with each hazard the IC3xx rules flag.

    python benchmarks/forward_hazards.py

For each pattern in a forward: does `torch.compile(fullgraph=True)` accept it (no graph break),
how many graphs and graph breaks default `torch.compile` makes (measured as a check measures
them, with `pytest_inferencecheck.measure.graph_breaks`), and do strict and non-strict `torch.export.export`
succeed. The IC3xx messages state these results (measured with torch 2.13); rerun this on a new
torch before changing them. Needs torch and numpy; runs on CPU in about a minute.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings

import numpy as np
import torch

from pytest_inferencecheck.measure.graph_breaks import find_graph_breaks

log = logging.getLogger("forward_hazards")


def print_(x):  # IC301
    print("hi")
    return x + 1


def logging_(x):  # IC301
    log.warning("hi")
    return x + 1


def warn_(x):  # IC301
    warnings.warn("hi")
    return x + 1


def item_(x):  # IC302
    return x * x.max().item()


def float_(x):  # IC302
    return x * float(x.max())


def tolist_(x):  # IC303
    return torch.tensor(x.tolist()) + 1


def numpy_(x):  # IC304
    return torch.from_numpy(x.numpy() + 1)


def np_call_(x):  # IC305
    return torch.as_tensor(np.exp(x)) + 1


def branch_(x):  # IC306
    if x.sum() > 0:
        return x + 1
    return x - 1


def truth_(x):  # IC306
    if torch.eq(x.sum(), x.sum()):
        return x + 1
    return x - 1


def clock_(x):  # IC307
    return x + time.time()


def guarded_(x):  # the fix IC301 recommends
    if not torch.compiler.is_compiling():
        print("hi")
    return x + 1


class Wrap(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def outcome(call) -> str:
    try:
        call()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the failure is the measurement
        return f"FAILS ({type(exc).__name__})"


def main() -> None:
    x = torch.randn(4)
    print(f"torch {torch.__version__}")
    print(f"{'pattern':<10} {'compile fullgraph':<22} {'graphs':>6} {'breaks':>6}  "
          f"{'export strict':<34} export non-strict")
    for fn in (print_, logging_, warn_, item_, float_, tolist_, numpy_, np_call_, branch_,
               truth_, clock_, guarded_):
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch._dynamo.reset()
            full = outcome(lambda: torch.compile(fn, fullgraph=True)(x))
            # the plugin's own measurement: the graph breaks and graphs a check reports
            breaks, graphs = find_graph_breaks(Wrap(fn), (x,), {})
            strict = outcome(lambda: torch.export.export(Wrap(fn), (x,), strict=True))
            loose = outcome(lambda: torch.export.export(Wrap(fn), (x,), strict=False))
        print(f"{fn.__name__.rstrip('_'):<10} {full:<22} {graphs:>6} {len(breaks):>6}  "
              f"{strict:<34} {loose}")


if __name__ == "__main__":
    main()
