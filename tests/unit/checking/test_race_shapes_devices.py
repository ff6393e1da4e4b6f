"""Row 7's backend race, dynamic shapes at a second shape, and device proxies."""

from __future__ import annotations

import pytest
import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.host import devices
from pytest_inferencecheck.recommendations.table import TARGETS
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.support.timing import Timing, beats

import models


def _slow_backend(gm, example_inputs):  # noqa: ANN001 - a torch.compile backend
    """A backend whose graphs are correct but wait 20 ms per call: it must lose every race."""
    import time

    def run(*args):
        time.sleep(0.02)
        return gm.forward(*args)

    return run


@pytest.fixture(scope="module")
def slow_backend():
    from torch._dynamo.backends.registry import _BACKENDS, _COMPILER_FNS, register_backend

    register_backend(compiler_fn=_slow_backend, name="sleepy_TESTING_ONLY")
    yield "sleepy_TESTING_ONLY"
    _BACKENDS.pop("sleepy_TESTING_ONLY", None)
    _COMPILER_FNS.pop("sleepy_TESTING_ONLY", None)


@pytest.mark.slow
def test_a_slower_backend_loses_the_race_and_the_row_stays_aoti(slow_backend):
    r = check(models.Elementwise(), (torch.randn(64),), "server-x86-python",
              backends=[slow_backend])
    assert r.outcome == "passed", explain(r)
    by = {e.backend: e for e in r.race}
    assert set(by) == {"inductor", slow_backend} and all(e.ok for e in r.race)
    assert by[slow_backend].median_ms >= 20.0 > by["inductor"].median_ms
    assert r.recommendation.row == 3 and r.recommendation.technology == "aoti-python"
    assert [s.name for s in r.stages if s.name.startswith("race:")] == [
        "race:inductor", f"race:{slow_backend}"]


@pytest.mark.slow
def test_the_race_winner_is_one_its_own_measurements_favour(slow_backend):
    """With real backends either row may win on a given machine; whichever does must be the one
    the reported samples favour beyond the noise, and the slow entrant never."""
    r = check(models.Elementwise(), (torch.randn(64),), "server-x86-python",
              backends=["eager", slow_backend])
    by = {e.backend: e for e in r.race}
    timing = {b: Timing(e.samples_ms) for b, e in by.items()}
    rec = r.recommendation
    assert rec.backend != slow_backend
    if rec.row == 7:
        assert beats(timing[rec.backend], timing["inductor"]) and rec.backend in rec.reason
    else:
        assert rec.row == 3 and not beats(timing["eager"], timing["inductor"])


@pytest.mark.slow
def test_a_backend_that_cannot_compile_is_out_of_the_race():
    r = check(models.Elementwise(), (torch.randn(64),), "server-x86-python",
              backends=["relu_compile_error_TESTING_ONLY"])
    out = next(e for e in r.race if e.backend == "relu_compile_error_TESTING_ONLY")
    assert not out.ok and out.error
    assert r.recommendation.backend != "relu_compile_error_TESTING_ONLY"
    assert r.outcome == "passed", explain(r)


@pytest.mark.slow
def test_dynamic_batch_is_checked_at_a_second_shape():
    batch = torch.export.Dim("batch", min=1, max=16)
    r = check(models.SmallCNN(), (torch.randn(4, 3, 16, 16),), "server-x86-python",
              dynamic_shapes=({0: batch},))
    assert r.outcome == "passed", explain(r)
    assert r.recommendation.row == 3
    assert r.numerics.shapes == "0: (4, 3, 16, 16) -> (3, 3, 16, 16)"
    assert r.numerics.second_shape.ok and r.numerics.second_shape.compared == 1
    assert "run_second_shape" in [s.name for s in r.stages]


def test_second_shape_keeps_values_valid_and_shares_a_dim():
    from pytest_inferencecheck.checking.shapes import second_shape

    seq = torch.export.Dim("seq", min=2, max=64)
    ids, mask = torch.randint(0, 100, (1, 2)), torch.ones(1, 2, dtype=torch.long)

    class TwoInputs(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return input_ids * attention_mask

    args, kwargs, desc = second_shape(TwoInputs(), (ids,), {"attention_mask": mask},
                                      {"input_ids": {1: seq}, "attention_mask": {1: seq}})
    assert args[0].shape == kwargs["attention_mask"].shape == (1, 3)  # one Dim, one new size
    assert set(args[0].flatten().tolist()) <= set(ids.flatten().tolist())
    assert "input_ids: (1, 2) -> (1, 3)" in desc


def test_a_missing_device_is_a_proxy_and_a_present_one_is_not(monkeypatch):
    cuda = TARGETS["server-cuda-cpp"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "no cuda device" in devices.proxy_for(cuda)
    assert devices.run_device(cuda) == "cpu"
    # No GPU exists on CI: simulate one to check the decision that routes work to it.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.proxy_for(cuda) is None
    assert devices.run_device(cuda) == "cuda"
    assert devices.run_device(TARGETS["server-x86-cpp"]) == "cpu"


def test_on_device_targets_are_never_proxies():
    assert devices.proxy_for(TARGETS["mobile-ios"]) is None
    assert devices.proxy_for(TARGETS["edge"]) is None
