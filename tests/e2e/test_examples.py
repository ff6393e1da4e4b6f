"""The shipped example repository keeps doing what the README says it does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run() -> subprocess.CompletedProcess:
    """`pytest --inference-check examples/`, the README's main command, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "INFERENCECHECK"}
    return subprocess.run([sys.executable, "-m", "pytest", "--inference-check", "-p",
                           "no:cacheprovider", str(EXAMPLES)], capture_output=True, text=True,
                          env=env, cwd=EXAMPLES.parent, timeout=1200)


def test_examples_pass_with_the_expected_failures_marked(run):
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    assert "9 passed, 2 xfailed" in run.stdout.splitlines()[-1]


def summary_rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    section = stdout.split("= inference check =")[1].split("\n\n")[0].splitlines()[2:]
    rows = {}
    for line in section:
        cells = line.split()
        target = cells[1]
        rest = cells[3:] if cells[2] == "(proxy)" else cells[2:]
        rows[(cells[0], target)] = rest
    return rows


def test_the_summary_shows_every_row_at_work(run):
    rows = summary_rows(run.stdout)
    expected = {
        ("bert", "mobile-android"): "1", ("cnn", "mobile-ios"): "1", ("cnn", "edge"): "2",
        ("bert", "server-x86-python"): "3", ("cnn_local", "server-x86-python"): "3",
        ("ranker", "server-x86-python"): "4", ("gpt2-cache", "server-x86-python"): "5",
        ("bert", "server-x86-cpp"): "6", ("ranker", "server-x86-cpp"): "6",
        ("gpt2-cache", "server-x86-cpp"): "6", ("cnn_local", "mac"): "8",
    }
    assert {key: cells[0] for key, cells in rows.items()} == expected
    assert rows[("ranker", "server-x86-cpp")][-2:] == ["failed", "(xfail)"]
    assert rows[("ranker", "server-x86-python")][-2:] == ["passed", "(deviation)"]


def test_the_summary_lists_the_deviation_and_breaks_by_location(run):
    out = run.stdout
    assert "deviations from the table:" in out
    assert "test_ranker[server-x86-python]: declared 'aoti-python' but row 4" in out
    assert "graph breaks by location:" in out
    assert "example_models.py:" in out and "(ranker@server-x86-python, ranker@server-x86-cpp)" in out
