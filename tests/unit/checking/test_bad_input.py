"""Bad input gets a clear message or a failed result, never a traceback from our internals."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pytest_inferencecheck import InferenceCheckError, check

import models


class Raises(nn.Module):
    def forward(self, x):
        return self.helper(x)

    def helper(self, x):
        raise ValueError(f"expected 3 channels, got {x.shape[1]}")  # the user's line


class Nan(nn.Module):
    def forward(self, x):
        return {"logits": x / 0.0 * 0.0}


class Words(nn.Module):
    def forward(self, x):
        return "not a tensor"


class Noisy(nn.Module):
    def forward(self, x):
        return torch.nn.functional.dropout(x, p=0.5, training=True)


class WithExtras(nn.Module):
    def forward(self, x):
        return x * 2, "label"


def test_unknown_target_suggests_the_nearest():
    with pytest.raises(InferenceCheckError, match="Did you mean 'server-x86-cpp'"):
        check(models.SmallCNN(), models.cnn_inputs(), "server-x86-ccp")


def test_unknown_declared_technology():
    with pytest.raises(InferenceCheckError, match="unknown technology 'aoti'"):
        check(models.SmallCNN(), models.cnn_inputs(), "mac", uses="aoti")


def test_model_must_be_a_module():
    with pytest.raises(InferenceCheckError, match="model must be a torch.nn.Module, got function"):
        check(lambda x: x, (torch.ones(1),), "mac")


@pytest.mark.parametrize("inputs", [[torch.ones(1)], {"x": torch.ones(1)}, None])
def test_inputs_must_be_a_tuple(inputs):
    with pytest.raises(InferenceCheckError, match="example_inputs must be a tuple"):
        check(models.SmallCNN(), inputs, "mac")


@pytest.mark.parametrize("kw", [{"atol": -1}, {"rtol": "1e-3"}, {"atol": True},
                                {"atol": float("nan")}, {"rtol": float("inf")},
                                {"min_delegation": float("nan")}])
def test_tolerances_must_be_non_negative_numbers(kw):
    with pytest.raises(InferenceCheckError, match=r"from check\(\): must be a finite number >= 0"):
        check(models.SmallCNN(), models.cnn_inputs(), "mac", **kw)


def test_a_single_tensor_is_accepted_as_inputs():
    r = check(models.SmallCNN(), torch.randn(1, 3, 8, 8), "mac")
    assert r.outcome == "passed"


def test_a_model_that_raises_fails_the_eager_stage_with_the_users_traceback():
    r = check(Raises(), (torch.ones(1, 2),), "server-x86-python")
    assert r.outcome == "failed"
    (f,) = r.failures
    assert f.stage == "eager" and f.file == __file__
    assert "ValueError: expected 3 channels, got 2" in f.message
    assert "in helper" in f.message and "in forward" in f.message
    assert "pytest_inferencecheck" not in f.message and "torch/nn" not in f.message
    assert r.stages[-1].name == "eager" and r.stages[-1].status == "failed"


def test_nan_outputs_fail_naming_the_leaf():
    r = check(Nan(), (torch.ones(2),), "server-x86-python")
    assert r.outcome == "failed" and "output['logits']" in r.failures[0].message


def test_outputs_without_tensors_fail_clearly():
    r = check(Words(), (torch.ones(2),), "mac")
    assert r.outcome == "failed" and "hold no tensor (got str)" in r.failures[0].message


def test_non_deterministic_eager_is_reported():
    r = check(Noisy(), (torch.ones(64),), "mac")
    assert r.outcome == "failed" and "two eager runs" in r.failures[0].message


def test_non_tensor_leaves_beside_tensors_are_compared_exactly():
    r = check(WithExtras(), (torch.ones(2),), "mac")
    assert r.outcome == "passed" and r.numerics.compared == 2


def test_training_mode_is_restored_after_the_check():
    model = models.SmallCNN().train()
    check(model, models.cnn_inputs(), "mac")
    assert model.training


def test_require_device_fails_a_proxy_target_without_compiling():
    r = check(models.SmallCNN(), models.cnn_inputs(), "server-cuda-python", require_device=True)
    if torch.cuda.is_available():  # pragma: no cover - CI has no GPU
        pytest.skip("this host has CUDA: the target is not a proxy here")
    assert r.outcome == "failed" and r.failures[0].stage == "device" and r.stages == []


def test_proxy_is_reported_for_a_missing_device():
    from pytest_inferencecheck.host.devices import host_has

    r = check(models.SmallCNN(), models.cnn_inputs(), "mac")
    if host_has("mps"):  # pragma: no cover - an Apple host runs the mac target natively
        assert r.proxy is None
    else:
        assert "checked on the host CPU as a proxy" in r.proxy


@pytest.mark.parametrize("kw, message", [
    ({"max_graph_brakes": 1}, "unknown option 'max_graph_brakes' (did you mean 'max_graph_breaks'?)"),
    ({"backends": ["no-such-backend"]}, "'no-such-backend' from check() are not registered"),
    ({"executorch_partitioners": ["xnnpak"]}, "unknown ExecuTorch partitioner 'xnnpak'"),
    ({"min_delegation": 1.5}, "min_delegation=1.5 from check(): must be a finite number >= 0 and <= 1"),
    ({"max_pte_bytes": 0}, "max_pte_bytes=0 from check(): must be an integer > 0"),
    ({"strict_export": "yes"}, "strict_export='yes' from check(): must be True or False"),
])
def test_bad_options_say_what_is_valid(kw, message):
    with pytest.raises(InferenceCheckError) as exc:
        check(models.SmallCNN(), models.cnn_inputs(), "mac", **kw)
    assert message in str(exc.value)


def test_too_many_graph_breaks_fail_any_target():
    r = check(models.ThreeBreaks(), (torch.randn(2, 8),), "mac", max_graph_breaks=2)
    assert r.outcome == "failed"
    assert "3 graph break sites (3 breaks as torch._dynamo.explain counts them), more than "\
           "max_graph_breaks=2" in r.failures[0].message


class _OnCuda(nn.Module):
    """A model whose weights say they are on cuda:0. This host has no GPU, so the device is
    mocked: `parameters()` yields a stand-in with that device, and `to()` records the move
    instead of doing it. Everything else about the check is real."""

    def __init__(self):
        super().__init__()
        self.moves: list[torch.device] = []

    def parameters(self, recurse=True):
        yield type("Weight", (), {"device": torch.device("cuda", 0)})()

    def to(self, device):
        self.moves.append(torch.device(device))
        return self


def test_a_model_on_cuda_is_checked_on_a_cpu_targets_device_and_moved_back():
    # Issue 19: inputs were moved to the target's device and the model was not, so a model
    # already on CUDA failed its eager stage on a CPU target, blamed on the user's forward.
    from pytest_inferencecheck.checking import api

    model, notes = _OnCuda().eval(), []
    with api._inference_setup(model, "cpu", notes):
        assert model.moves == [torch.device("cpu")]
    assert model.moves == [torch.device("cpu"), torch.device("cuda", 0)]
    assert notes == ["the model was on cuda:0; it was checked on cpu, the target's device, "
                     "and moved back after"]


class _SparseTimesTwo(nn.Module):
    def forward(self, x):
        return x * 2


@pytest.mark.parametrize("layout", ["sparse_coo", "sparse_csr"])
@pytest.mark.parametrize("target", ["mac", "server-x86-python"])
def test_a_sparse_input_is_checked_as_torch_runs_it(layout, target):
    # Issue 19: sparse inputs and outputs failed as `internal` (deep-copying a CSR output, a
    # finiteness test on a sparse tensor) or were blamed on the model's eager stage. Torch runs
    # this model eagerly, and torch.compile falls back to eager at the sparse tensor: it passes.
    dense = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    x = dense.to_sparse() if layout == "sparse_coo" else dense.to_sparse_csr()
    r = check(_SparseTimesTwo(), (x,), target, store=False)
    assert r.outcome == "passed", [f.message for f in r.failures]
    assert r.numerics.ok and r.numerics.compared == 1
