"""check() along each recommended path, for real: AOTI, torch.compile, eager, and row 6's hard fail."""

from __future__ import annotations

import json
import re

import pytest
import torch

from pytest_inferencecheck.reporters import summary
from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.result import from_dict

import models
from models import line_of

pytestmark = pytest.mark.slow


def stage_names(result):
    return [s.name for s in result.stages]


def test_cnn_row_3_aoti_output_equals_eager(checked):
    r = checked("cnn/server-x86-python")
    assert r.outcome == "passed", explain(r)
    assert (r.recommendation.row, r.recommendation.technology) == (3, "aoti-python")
    assert r.graph_breaks == [] and r.export.ok
    assert stage_names(r) == ["eager", "graph_breaks", "export", "aoti_compile", "aoti_load",
                              "run", "compare", "latency"]
    assert r.numerics.ok and r.numerics.compared == 1 and r.numerics.max_abs_err < 1e-4
    assert r.latency.eager_ms > 0 and r.latency.artifact_ms > 0
    assert r.proxy is None and r.fallback is None and r.deviation is None
    assert "training mode" in r.notes[0]


def test_three_breaks_row_4_each_at_its_line_with_the_deviation(checked):
    r = checked("breaks/server-x86-python")
    assert r.outcome == "passed", explain(r)
    assert (r.recommendation.row, r.recommendation.technology, r.recommendation.backend) == (
        4, "torch.compile", "inductor")
    assert r.recommendation.reason == (
        "row 4: server + Python deployment with 3 graph breaks -> torch.compile")
    assert sorted(b.line for b in r.graph_breaks) == sorted(
        line_of(m) for m in ("print", "branch", "item"))
    assert "compile" in stage_names(r) and "aoti_compile" not in stage_names(r)
    assert r.numerics.ok
    assert r.declared == "aoti-python"
    assert r.deviation.startswith("declared 'aoti-python' but row 4")


def test_graph_breaks_are_a_hard_failure_for_row_6(checked):
    r = checked("breaks/server-x86-cpp")
    assert r.outcome == "failed"
    assert r.recommendation.row == 6
    gb = next(f for f in r.failures if f.stage == "graph_breaks")
    assert "no fallback" in gb.message
    for marker in ("print", "branch", "item"):
        assert f"models.py:{line_of(marker)} in forward" in gb.message
    assert (gb.file, gb.line) == (models.__file__, min(line_of(m) for m in ("print", "branch")))
    text = explain(r)
    assert "FAILED (row 6, stage graph_breaks)" in text and "what to do:" in text


def test_tiny_bert_row_3(checked):
    r = checked("bert/server-x86-python")
    assert r.outcome == "passed", explain(r)
    assert r.model == "bert" and r.recommendation.row == 3
    assert r.numerics.ok and r.numerics.compared == 2  # last_hidden_state, pooler_output


def test_gpt2_with_cache_row_5_keeps_the_export_error(checked):
    r = checked("gpt2/server-x86-python")
    assert r.outcome == "passed", explain(r)
    assert r.graph_breaks == []  # exportable != no graph break: here no break, no export
    assert (r.recommendation.row, r.recommendation.technology) == (5, "torch.compile")
    assert r.fallback.technology == "aoti-python" and r.fallback.stage == "export"
    assert "DynamicCache" in r.fallback.error
    (issue,) = r.export.issues
    assert "use_cache=False" in issue.hint
    assert next(s for s in r.stages if s.name == "export").status == "failed"
    # the cache's tensors are compared too, not only last_hidden_state
    assert r.numerics.ok and r.numerics.compared >= 5
    assert "why not aoti-python: export failed" in explain(r)
    # a pass on row 5 says what moved it there and what would put it on row 3 (issue 31)
    assert "use_cache=False" in r.fallback.hint and "AOTInductor (Python) serves it, row 3" in (
        r.fallback.hint)
    assert f"to reach row 3: {r.fallback.hint}" in explain(r)
    text = "\n".join(summary.render([r]))
    assert "row 5 (torch.compile, because AOTInductor cannot serve the model)" in text
    assert "gpt2@server-x86-python: export failed" in text and "use_cache=False" in text
    again = from_dict(json.loads(json.dumps(r.to_dict())))
    assert again.fallback == r.fallback  # as the xdist controller and `report` read it


def test_mac_row_8_runs_eager_and_builds_nothing(checked):
    r = checked("cnn/mac")
    assert r.outcome == "passed" and r.recommendation.row == 8
    assert r.export.ok  # measured once per model for every target; it gates only rows that export
    assert r.artifacts == []  # no artifact: eager is the path
    assert stage_names(r)[-3:] == ["run", "compare", "latency"]
    assert r.latency.artifact_ms == r.latency.eager_ms


def test_every_result_renders_as_json(checked):
    for name in ("cnn/server-x86-python", "breaks/server-x86-cpp", "gpt2/server-x86-python"):
        d = json.loads(json.dumps(checked(name).to_dict()))
        assert set(d) >= {"nodeid", "model", "target", "proxy", "recommendation", "declared",
                          "deviation", "graph_breaks", "export", "stages", "numerics",
                          "executorch", "latency", "outcome", "failures"}
        assert d["graph_breaks"]["count"] == len(d["graph_breaks"]["breaks"])


def test_random_numbers_drawn_in_forward_are_not_called_a_numerics_bug(tmp_path):
    # Issue 19: a model that seeds and draws inside forward matches itself in eager, and its
    # compiled artifact differs (inductor's own generator): that was reported as "a numerics bug
    # in the compiled artifact".
    from pytest_inferencecheck import check

    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 8)

        def forward(self, x):
            torch.manual_seed(0)
            return self.lin(x) + torch.randn(x.shape)  # draws here

    r = check(Noisy(), (torch.ones(2, 8),), "server-x86-python", store=tmp_path)
    (failure,) = [f for f in r.failures if f.stage == "compare"]
    assert "numerics bug" not in failure.hint
    line = next(n for n, text in enumerate(open(__file__).read().splitlines(), 1)
                if text.endswith("# draws" + " here"))
    assert re.search(rf"aten\.randn at \S*test_check_paths\.py:{line}\b", failure.hint)
    assert "fallback_random = True" in failure.hint
