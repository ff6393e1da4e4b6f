"""The noise rule that decides whether a backend is really faster (pure)."""

from __future__ import annotations

from pytest_inferencecheck.support.timing import Timing, beats


def test_clearly_faster_beats():
    assert beats(Timing((1.0, 1.0, 1.1, 1.0, 1.0)), Timing((2.0, 2.1, 2.0, 2.0, 1.9)))


def test_within_relative_margin_does_not_beat():
    assert not beats(Timing((0.99,) * 5), Timing((1.0,) * 5))


def test_a_gap_smaller_than_the_spread_does_not_beat():
    noisy = Timing((0.5, 0.8, 1.3, 1.7, 0.7, 1.1))
    assert noisy.median < 1.0
    assert not beats(noisy, Timing((1.0, 1.0, 1.0, 1.0, 1.0)))


def test_spread_is_the_interquartile_range():
    assert Timing((1.0, 2.0, 3.0, 4.0, 5.0)).spread == 3.0
    assert Timing((1.0, 2.0)).spread == 0.0


def test_latencies_measured_on_a_loaded_host_say_they_are_noisy(monkeypatch):
    # Issue 19: latencies measured while other work ran were printed with no word on noise.
    # Issue 35: the load is what other processes used while the figures were taken.
    from pytest_inferencecheck.reporters.text import explain
    from pytest_inferencecheck.result import CheckResult, Latency, from_dict
    from pytest_inferencecheck.support.timing import CpuWatch

    monkeypatch.delenv("INFERENCECHECK_QUIET_LOAD", raising=False)  # the default rule
    with CpuWatch() as watch:
        sum(range(10**6))  # some work of this process's own
    assert watch.load is None or 0 <= watch.load <= 1  # Linux says; a share of the cores
    busy = CheckResult(model="m", target="mac", latency=Latency(1.0, 2.0, load=0.8))
    quiet = CheckResult(model="m", target="mac", latency=Latency(1.0, 2.0, load=0.2))
    assert "measured while other processes kept 80% of the CPU busy" in explain(busy)
    assert "CPU busy" not in explain(quiet)
    assert from_dict(busy.to_dict()).latency == busy.latency  # kept in the JSON
