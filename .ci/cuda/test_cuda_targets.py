"""The shipped example models on the CUDA rows, run by `.ci/cuda-check` on a machine with a GPU."""

from __future__ import annotations

import pathlib
import sys

import pytest
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))
import example_models as zoo  # noqa: E402

CUDA = ("server-cuda-python", "server-cuda-cpp")


@pytest.mark.deploy_target(*CUDA)
def test_bert(inference_check):
    """Rows 3 and 6 on the GPU: one .pt2 serves both, the C++ one runs without Python."""
    inference_check(zoo.tiny_bert(), zoo.token_ids(), name="bert")


@pytest.mark.deploy_target(*CUDA)
def test_cnn(inference_check):
    inference_check(zoo.SmallCNN(), zoo.image_batch(), name="cnn")


@pytest.mark.deploy_target("server-cuda-python")
def test_ranker(inference_check):
    """Graph breaks: row 4, torch.compile on the GPU."""
    inference_check(zoo.ScoredRanker(), (torch.randn(4, 16),), name="ranker")


@pytest.mark.xfail(strict=True, reason="row 6 has no fallback for graph breaks")
@pytest.mark.deploy_target("server-cuda-cpp")
def test_ranker_without_python(inference_check):
    inference_check(zoo.ScoredRanker(), (torch.randn(4, 16),), name="ranker")


@pytest.mark.deploy_target("server-cuda-python")
def test_gpt2_with_cache(inference_check):
    """No export for a DynamicCache output: row 5, torch.compile."""
    inference_check(zoo.tiny_gpt2(), zoo.token_ids(), name="gpt2-cache")
