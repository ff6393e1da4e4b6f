"""One call, several targets (issue 35): the targets share one eager run, trace and export, and
each target's result is the one a cold check of that target alone gives. Real compiles."""

from __future__ import annotations

import torch
from torch.export import Dim

from pytest_inferencecheck import check, check_targets
from pytest_inferencecheck.checking import sharing

TARGETS = ["mac", "server-x86-python"]  # mac's path runs eager dozens of times first
SCALE = {"value": 3.0}  # read by GlobalReader's forward


class CountsCalls(torch.nn.Module):
    """Mutates a buffer on every forward; its output doubles once it has run more than ten
    times. Two eager runs agree, and a check alone never runs it that often before comparing:
    only a target that starts where an earlier target's path left the model would see it."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.add_(1)
        return self.lin(x) * (1 + (self.calls > 10).to(x.dtype))


class GlobalReader(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(x)) * SCALE["value"]


def _built(kind):  # a model as a test would build it: seeded
    torch.manual_seed(0)
    return kind()


def _same(shared, alone):
    assert (shared.target, shared.outcome) == (alone.target, alone.outcome), shared.failures
    assert shared.recommendation.row == alone.recommendation.row
    assert (shared.numerics.ok, shared.numerics.max_abs_err) == \
        (alone.numerics.ok, alone.numerics.max_abs_err)
    assert (shared.numerics.second_shape is None) == (alone.numerics.second_shape is None)
    if shared.numerics.second_shape is not None:
        assert shared.numerics.second_shape.ok == alone.numerics.second_shape.ok
    assert shared.export.ok == alone.export.ok and shared.break_count == alone.break_count
    # the same program built into the same artifacts: the entries' keys name its every byte
    assert [(u.kind, u.key) for u in shared.artifacts if u.kind != "run"] == \
        [(u.kind, u.key) for u in alone.artifacts if u.kind != "run"]


def _shared_stages(result):
    return [s.name for s in result.stages if "shared: measured once" in s.detail]


def test_a_model_that_mutates_a_buffer_gets_the_results_each_target_gets_alone(tmp_path):
    opts = {"dynamic_shapes": ({0: Dim("batch", min=2, max=16)},), "atol": 1e-5}
    x = (torch.randn(4, 4),)
    shared = check_targets(_built(CountsCalls), x, TARGETS, store=tmp_path / "shared", **opts)
    alone = [check(_built(CountsCalls), x, t, store=tmp_path / t, **opts) for t in TARGETS]
    for s, a in zip(shared, alone):
        _same(s, a)
    assert all(r.outcome == "passed" for r in shared), [r.failures for r in shared]
    assert _shared_stages(shared[0]) == []
    assert _shared_stages(shared[1]) == ["eager", "graph_breaks", "export"]


def test_without_putting_the_model_back_the_second_target_would_differ(tmp_path, monkeypatch):
    """The test above can fail: the same call with the model left as the first target's path
    left it fails the second target's second-shape comparison."""
    monkeypatch.setattr(sharing, "_put_back", lambda model, measured: None)
    opts = {"dynamic_shapes": ({0: Dim("batch", min=2, max=16)},), "atol": 1e-5}
    shared = check_targets(_built(CountsCalls), (torch.randn(4, 4),), TARGETS,
                           store=tmp_path, **opts)
    assert shared[1].outcome == "failed"
    assert shared[1].failures[0].stage == "compare"


def test_a_model_that_reads_global_state_gets_the_results_each_target_gets_alone(tmp_path):
    x = (torch.randn(2, 4),)
    targets = ["server-x86-python", "server-x86-cpp"]
    shared = check_targets(_built(GlobalReader), x, targets, store=tmp_path / "shared")
    alone = [check(_built(GlobalReader), x, t, store=tmp_path / t) for t in targets]
    for s, a in zip(shared, alone):
        _same(s, a)
        assert s.outcome == "passed", s.failures


def test_a_parameter_changed_between_targets_means_the_facts_are_measured_again(tmp_path):
    class Drifts(torch.nn.Module):  # nudges its own weight: nothing of the first trace holds
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.lin(x)
            with torch.no_grad():
                self.lin.weight.mul_(1.0)  # in place: its version moves, its values do not
            return out

    results = check_targets(_built(Drifts), (torch.randn(2, 4),), ["mac", "server-x86-python"],
                            store=False)  # mac's path runs forward: the weight moves then
    assert _shared_stages(results[1]) == []
    assert any("measured again for server-x86-python: a parameter was changed" in n
               for n in results[1].notes)


def test_a_bad_targets_argument_is_a_usage_error():
    import pytest

    from pytest_inferencecheck.errors import InferenceCheckError

    with pytest.raises(InferenceCheckError, match="non-empty list"):
        check_targets(GlobalReader(), (torch.randn(2, 4),), "mac")
    with pytest.raises(InferenceCheckError, match="unknown deployment target .nowhere."):
        check_targets(GlobalReader(), (torch.randn(2, 4),), ["mac", "nowhere"])
