"""Latency on a quiet process (issue 35): none of our own background builds runs while a
latency is measured; the figures carry their noise, a noisy one is not kept for reruns, and a
replayed one says when and where it was measured. Real helpers, real checks."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.checking import helpers
from pytest_inferencecheck.host import hold
from pytest_inferencecheck.reporters.text import explain

# a stand-in for a helper's compiler: all CPU, as long as it is let run (the test ends it)
BUSY = [sys.executable, "-c", "while True: pass"]


def _state(pid: int) -> str:
    """The process's state letter: R running, S sleeping, T stopped."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def busy_helpers():
    """Two busy helpers registered as a run's helpers are (two cores: both filled)."""
    started = [helpers.launch("test-busy", f"key{i}", BUSY) for i in range(2)]
    yield [a.process for a in started]
    for a in started:
        helpers._RUNNING.pop((a.kind, a.key), None)
        hold.unregister(a.process)
        a.process.kill()
        a.process.wait()


class Watches(torch.nn.Module):
    """Notes the state of the given processes on every forward: what ran beside it."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(256, 256)
        self.pids, self.seen = pids, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append({_state(p) for p in self.pids})
        for _ in range(8):
            x = torch.tanh(self.lin(x))
        return x


def test_a_hold_stops_our_helpers_and_lets_them_go_on(busy_helpers):
    with hold.held() as stopped:
        assert stopped == 2
        assert {_state(p.pid) for p in busy_helpers} == {"T"}
    assert "T" not in {_state(p.pid) for p in busy_helpers}


def test_the_latency_stage_runs_while_our_helpers_are_stopped(busy_helpers):
    model = Watches([p.pid for p in busy_helpers])
    result = check(model, (torch.randn(64, 256),), "mac", store=False)
    assert result.outcome == "passed", result.failures
    latency = next(s for s in result.stages if s.name == "latency")
    assert "2 background builds of ours held meanwhile" in latency.detail
    timed = model.seen[-10:]  # the last calls: the latency loop's
    assert all(states == {"T"} for states in timed), timed
    assert "T" not in {_state(p.pid) for p in busy_helpers}  # going on again after
    assert result.latency.eager_noise_ms is not None and result.latency.measured_on


def _latency(model, x) -> tuple[float, float, float]:
    lat = check(model, x, "mac", store=False).latency
    return lat.eager_ms, lat.eager_noise_ms, lat.load or 0.0


def test_a_latency_measured_while_helpers_build_reads_as_a_quiet_one(busy_helpers):
    """The figure taken beside two busy helpers (held) differs from one taken with none by
    no more than the noise the check reports (medians of three of each, taken in turns), and
    the helpers add nothing to the load the check saw (whatever else this machine runs, as
    another test worker, weighs on both alike). Unheld, they would fill both cores."""
    model, x = Watches([]), (torch.randn(64, 256),)
    quiet, busy = [], []
    for _ in range(3):
        for p in busy_helpers:
            hold.unregister(p)  # as if none were running: not held, and stopped by hand
            p.send_signal(19)
        quiet.append(_latency(model, x))
        for p in busy_helpers:
            p.send_signal(18)
            hold.register(p)
        busy.append(_latency(model, x))
    q, b = statistics.median(m for m, _, _ in quiet), statistics.median(m for m, _, _ in busy)
    noise = max(n for _, n, _ in [*quiet, *busy])
    assert abs(b - q) <= noise + 0.05 * q, (q, b, noise, quiet, busy)
    assert max(load for *_, load in busy) <= max(load for *_, load in quiet) + 0.3, (quiet, busy)


def test_a_noisy_figure_is_not_kept_and_a_replayed_one_says_when_and_where(tmp_path,
                                                                          monkeypatch):
    """Another program's load (not ours: nothing holds it) makes the figures noisy: the run is
    not recorded, and the rerun measures again; a quiet figure is recorded and replayed, and
    says when and on which machine it was measured."""
    # a strict rule (the default is 0.5): two busy programs at nice 5 get a quarter of the CPU
    # beside a timing loop on two threads, and whatever else runs beside this test adds to it
    monkeypatch.setenv("INFERENCECHECK_QUIET_LOAD", "0.1")
    model, x = Watches([]), (torch.randn(64, 256),)
    others = [subprocess.Popen([sys.executable, "-c", "import os; os.nice(5)\nwhile True: pass"])
              for _ in range(2)]
    try:
        noisy = check(model, x, "server-x86-python", store=tmp_path)
    finally:
        for p in others:
            p.kill()
            p.wait()
    assert noisy.outcome == "passed", explain(noisy)
    assert not noisy.latency.quiet and "noisy" in noisy.latency.noise
    assert any("this run is not recorded, a rerun measures again" in n for n in noisy.notes)
    monkeypatch.setenv("INFERENCECHECK_QUIET_LOAD", "1")  # whatever else runs beside this test
    measured = check(model, x, "server-x86-python", store=tmp_path)
    assert {u.kind: u.status for u in measured.artifacts}["aoti"] == "reused"
    assert measured.latency.replayed is None  # measured again, not the noisy figure
    replayed = check(model, x, "server-x86-python", store=tmp_path)
    assert replayed.latency.replayed is True
    assert (replayed.latency.eager_ms, replayed.latency.measured_at) == \
        (measured.latency.eager_ms, measured.latency.measured_at)
    assert replayed.latency.noise == (f"replayed from {measured.latency.measured_at} on "
                                      f"{measured.latency.measured_on}")


def test_a_bad_quiet_load_is_a_usage_error(monkeypatch):
    from pytest_inferencecheck.errors import InferenceCheckError

    monkeypatch.setenv("INFERENCECHECK_QUIET_LOAD", "half")
    with pytest.raises(InferenceCheckError, match="INFERENCECHECK_QUIET_LOAD='half'"):
        check(Watches([]), (torch.randn(2, 256),), "mac", store=False)
