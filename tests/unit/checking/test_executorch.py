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


def test_graph_breaks_fail_edge_naming_each_line():
    r = check(models.ThreeBreaks(), (torch.randn(2, 8),), "edge")
    assert r.outcome == "failed"
    gb = next(f for f in r.failures if f.stage == "graph_breaks")
    assert "ExecuTorch is the path and the table has no fallback" in gb.message
    for marker in ("print", "branch", "item"):
        assert f"models.py:{models.line_of(marker)} in forward" in gb.message
    assert r.executorch is None  # nothing was lowered


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
