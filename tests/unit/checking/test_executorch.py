"""Rows 1 and 2 through ExecuTorch for real: XNNPACK lowering, the runtime, delegation facts."""

from __future__ import annotations

import os
import sys

import pytest
import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.reporters.text import explain

import models

if os.environ.get("CI"):  # CI installs the extra: a missing ExecuTorch must fail, not skip green
    import executorch  # noqa: F401
else:
    pytest.importorskip("executorch", reason="install the [executorch] extra to run these tests")
pytestmark = pytest.mark.slow


def test_clean_model_passes_mobile_android_with_delegation_reported(fresh_store):
    r = check(models.SmallCNN(), models.cnn_inputs(), "mobile-android")
    assert r.outcome == "passed", explain(r)
    assert (r.recommendation.row, r.recommendation.technology) == (1, "executorch")
    et = r.executorch
    assert et["partitioners"] == ["xnnpack"] and et["executed"]
    assert et["delegated_nodes"] > 0 and 0 < et["delegation"] <= 1
    assert et["pte_bytes"] > 0
    assert [s.name for s in r.stages] == ["eager", "graph_breaks", "export", "lower",
                                          "to_executorch", "et_load", "run", "compare", "latency"]
    assert r.numerics.ok and r.latency.artifact_ms > 0
    assert "executorch: xnnpack delegated" in explain(r)


def test_an_op_xnnpack_does_not_take_is_reported_and_gated():
    r = check(models.PartlyDelegated(), (torch.randn(1, 3, 16, 16),), "edge", min_delegation=0.95)
    assert r.recommendation.row == 2
    assert "aten_cumsum_default" in r.executorch["ops_not_delegated"]
    assert "aten_convolution_default" not in r.executorch["ops_not_delegated"]
    assert r.numerics.ok  # the portable kernels still compute the right answer
    (f,) = r.failures
    assert f.stage == "delegation" and "below min_delegation=0.95" in f.message
    assert "aten_cumsum_default x1" in f.message


def test_pte_size_gate():
    r = check(models.SmallCNN(), models.cnn_inputs(), "mobile-ios", max_pte_bytes=1000)
    (f,) = r.failures
    assert f.stage == "pte_size" and f"{r.executorch['pte_bytes']} bytes" in f.message


def test_a_partitioner_whose_backend_this_runtime_lacks_is_lowered_not_executed():
    r = check(models.SmallCNN(), models.cnn_inputs(), "mobile-ios",
              executorch_partitioners=["vulkan"])
    assert r.outcome == "skipped"
    assert "lowered with vulkan" in r.skip_reason and "lacks VulkanBackend" in r.skip_reason
    assert r.executorch["executed"] is False and r.numerics is None
    assert r.stages[-1].name == "et_load" and r.stages[-1].status == "skipped"


def test_a_model_that_breaks_dynamo_and_does_not_export_fails_edge_at_export_not_at_breaks():
    # ThreeBreaks' data-dependent branch stops torch.export too: the failure is the export's
    # (ExecuTorch's own first step); the breaks are listed for information.
    r = check(models.ThreeBreaks(), (torch.randn(2, 8),), "edge")
    assert r.outcome == "failed"
    assert [f.stage for f in r.failures] == ["export"]
    assert "ExecuTorch is the path and the table has no fallback" in r.failures[0].message
    assert len(r.graph_breaks) == 3 and r.breaks_decide is False
    assert any("torch.compile would break here (3 graph breaks" in n for n in r.notes)
    assert r.executorch is None  # nothing was lowered


@pytest.mark.parametrize("target", ["mobile-android", "edge"])
def test_a_dynamo_break_that_export_traces_through_passes_the_executorch_rows(target, tmp_path):
    # Issue 30: a Swin-UNETR's one Dynamo break failed mobile-android at stage graph_breaks,
    # though ExecuTorch's (non-strict) export, XNNPACK and the runtime all took it.
    r = check(models.CompileDisabledMask(), (torch.randn(2, 4, 8),), target, store=tmp_path)
    assert r.outcome == "passed", explain(r)
    (b,) = r.graph_breaks
    assert b.line == models.line_of("disabled") and r.breaks_decide is False
    assert r.numerics.ok and r.executorch["executed"]
    assert any("ExecuTorch's export (non-strict) does not use Dynamo and traced through them"
               in n for n in r.notes)
    d = r.to_dict()
    assert d["graph_breaks"]["decides"] is False and d["graph_breaks"]["count"] == 1


def test_strict_export_makes_the_break_an_executorch_failure_naming_it(tmp_path):
    r = check(models.CompileDisabledMask(), (torch.randn(2, 4, 8),), "mobile-android",
              store=tmp_path, strict_export=True)
    assert r.outcome == "failed" and r.breaks_decide is True
    gb = next(f for f in r.failures if f.stage == "graph_breaks")
    assert "strict_export=True exports through Dynamo" in gb.message
    assert f"models.py:{models.line_of('disabled')} in forward" in gb.message
    assert gb.line == models.line_of("disabled")
    export = next(f for f in r.failures if f.stage == "export")
    assert "torch.compiler.disable" in export.message
    assert "export non-strictly (drop strict_export=True" in export.message  # the hint


def test_the_row_6_failure_on_the_same_break_stands():
    # the AOTI rows keep "no graph break"
    r = check(models.CompileDisabledMask(), (torch.randn(2, 4, 8),), "server-x86-cpp",
              level="quick")
    assert [f.stage for f in r.failures] == ["graph_breaks"] and r.breaks_decide is True


def test_missing_executorch_is_a_failure_that_says_how_to_install(monkeypatch, fresh_store):
    # Simulates an environment without the extra (a None entry makes the import fail).
    monkeypatch.setitem(sys.modules, "executorch.exir", None)
    r = check(models.SmallCNN(), models.cnn_inputs(), "mobile-android")
    assert r.outcome == "failed"
    (f,) = r.failures
    assert f.stage == "executorch" and "pytest-inferencecheck[executorch]" in f.hint
    assert "ExecuTorch is not installed" in f.message


def test_a_partitioner_not_installed_here_is_the_hosts_fault_with_what_to_do(tmp_path):
    # Issue 19: a backend missing here failed the 'lower' stage with a hint aimed at the model
    # ("remove the unsupported operators it names").
    r = check(models.SmallCNN(), models.cnn_inputs(), "mobile-android", store=tmp_path,
              executorch_partitioners=["qnn"])
    (f,) = r.failures
    assert f.stage == "lower"
    assert "host fault, not the model's: the qnn partitioner cannot be created here" in f.message
    # ExecuTorch 1.4 cannot import the QNN backend here; 1.5 imports it, and QnnPartitioner()
    # then wants compiler specs: either way what to do is about the host, not the model
    assert f.hint.startswith(("install the qnn backend of ExecuTorch",
                              "the qnn partitioner needs settings")) and "operators" not in f.hint


def test_a_partitioner_that_will_not_construct_is_our_bug_not_the_models(tmp_path, monkeypatch):
    from pytest_inferencecheck.recommendations.partitioners import PARTITIONERS, Partitioner

    (tmp_path / "brokenpart.py").write_text(
        "class Broken:\n    def __init__(self):\n        raise KeyError('backend_id')\n")
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.setitem(PARTITIONERS, "xnnpack", Partitioner("brokenpart", "Broken",
                                                             "XnnpackBackend"))
    r = check(models.SmallCNN(), models.cnn_inputs(), "mobile-android", store=tmp_path / "s")
    (f,) = r.failures
    assert f.stage == "internal" and "Broken() could not be created: KeyError" in f.message
    assert f.hint == "please report it with this message and traceback"
