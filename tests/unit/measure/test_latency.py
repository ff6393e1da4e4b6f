"""Latency samples are taken after warm-up, and what a model prints in the loop is not repeated."""

from __future__ import annotations

import time

from pytest_inferencecheck.measure.latency import MIN_WINDOW_S, paired_ms, samples_ms


def test_samples_are_taken_after_warm_up(monkeypatch):
    from pytest_inferencecheck.measure import latency

    monkeypatch.setattr(latency, "MIN_WINDOW_S", 0.0)  # the count alone decides, not the clock
    calls = []
    t = samples_ms(lambda: calls.append(1), warmup=2, runs=7, budget_s=10)
    assert len(t.samples) == 7 and len(calls) == 9


def test_a_fast_model_is_sampled_long_enough_to_read_the_load():
    """Issue 35: 7 samples of a microsecond model last microseconds, shorter than the 10 ms
    ticks the CPU watch reads the machine's load in: sampling goes on for the window."""
    started = time.perf_counter()
    t = samples_ms(lambda: sum(range(300)), warmup=0, runs=7, budget_s=10)
    assert len(t.samples) > 7 and time.perf_counter() - started >= MIN_WINDOW_S


def test_eager_and_artifact_are_timed_in_turns():
    order = []
    eager, artifact = paired_ms(lambda: order.append("e"), lambda: order.append("a"),
                                warmup=0, runs=6)
    assert len(eager.samples) == len(artifact.samples) and order[:6] == list("eaaeea")


def test_what_a_model_prints_in_a_timing_loop_is_not_repeated(capsys):
    # Issue 31: a failing item's captured stdout repeated the model's print dozens of times.
    import torch

    from pytest_inferencecheck import check

    class Chatty(torch.nn.Module):
        def forward(self, x):
            print("forward called")
            return x * 2

    samples_ms(lambda: print("in the loop"), runs=10)
    assert "in the loop" not in capsys.readouterr().out
    r = check(Chatty(), (torch.ones(2),), "mac", store=False)
    assert r.outcome == "passed" and r.latency.artifact_ms is not None
    printed = capsys.readouterr().out.count("forward called")
    assert 0 < printed <= 6, printed  # the checked runs (eager twice, the trace, export, run)


def test_a_dropout_exported_in_eval_mode_draws_nothing_and_its_run_is_recorded(tmp_path):
    """Issue 35: a tiny BERT's warm rerun ran its artifacts again, because its eval-mode
    dropouts (train=False in the program) were taken for random draws. One in training mode
    still draws, and its run is still not recorded."""
    import torch

    from pytest_inferencecheck import check

    class Drops(torch.nn.Module):
        def __init__(self, p: float) -> None:
            super().__init__()
            self.lin, self.drop = torch.nn.Linear(4, 4), torch.nn.Dropout(p)

        def forward(self, x):
            return self.drop(self.lin(x))

    def kinds(result):
        return [(u.kind, u.status) for u in result.artifacts]

    torch.manual_seed(0)
    model, x = Drops(0.1), (torch.randn(2, 4),)
    first = check(model, x, "server-x86-python", store=tmp_path)
    rerun = check(model, x, "server-x86-python", store=tmp_path)
    assert kinds(first) == [("aoti", "built"), ("run", "built")], first.notes
    assert kinds(rerun) == [("aoti", "reused"), ("run", "reused")]
    # the replayed run is exactly what a cold run (--no-inference-check-cache) gives, and a
    # change of p (a new program) is not served the recorded run
    cold = check(model, x, "server-x86-python", store=False)
    assert (rerun.outcome, rerun.numerics.max_abs_err, rerun.numerics.compared) == \
        (cold.outcome, cold.numerics.max_abs_err, cold.numerics.compared)
    model.drop.p = 0.0
    changed = check(model, x, "server-x86-python", store=tmp_path)
    assert ("run", "reused") not in kinds(changed) and ("aoti", "built") in kinds(changed)
    cold = check(model, x, "server-x86-python", store=False)
    assert (changed.outcome, changed.numerics.max_abs_err) == \
        (cold.outcome, cold.numerics.max_abs_err)
    draws = torch.nn.functional.dropout  # in training mode, inside forward
    drawn = check(type("Drawn", (torch.nn.Module,), {"forward": lambda self, x: draws(
        x, 0.5, True) * 0 + x})(), x, "server-x86-python", store=tmp_path)
    assert ("run", "built") not in kinds(drawn)
    assert any("draws random numbers (aten.dropout" in n for n in drawn.notes)
