"""Deployment checks for the example models: one marker per model, one item per target."""

from __future__ import annotations

import pytest
import torch

import example_models as zoo


@pytest.mark.deploy_target("server-x86-python", "server-x86-cpp", "mobile-android")
def test_bert(inference_check):
    """A tiny Hugging Face BERT: AOTI from Python (row 3) and C++ (row 6), ExecuTorch (row 1)."""
    inference_check(zoo.tiny_bert(), zoo.token_ids(), name="bert")


@pytest.mark.deploy_target("mobile-ios", "edge", min_delegation=0.5)
def test_cnn(inference_check):
    """A small CNN on device (rows 1 and 2), with at least half its graph on XNNPACK."""
    inference_check(zoo.SmallCNN(), zoo.image_batch(), name="cnn")


@pytest.mark.deploy_target("server-x86-python", uses="aoti-python")
def test_ranker(inference_check):
    """Graph breaks move a Python server to torch.compile (row 4): a deviation from `uses`."""
    inference_check(zoo.ScoredRanker(), (torch.randn(4, 16),), name="ranker")


@pytest.mark.xfail(strict=True, reason="row 6 has no fallback: the ranker's graph breaks "
                                       "(print, data-dependent branch, .item()) fail AOTI C++")
@pytest.mark.deploy_target("server-x86-cpp")
def test_ranker_without_python(inference_check):
    inference_check(zoo.ScoredRanker(), (torch.randn(4, 16),), name="ranker")


@pytest.mark.deploy_target("server-x86-python")
def test_gpt2_with_cache(inference_check):
    """A decoder whose output holds a DynamicCache: no graph break, but no export: row 5."""
    inference_check(zoo.tiny_gpt2(), zoo.token_ids(), name="gpt2-cache")


@pytest.mark.xfail(strict=True, reason="row 6 needs torch.export, which cannot flatten the "
                                       "DynamicCache output: set use_cache=False to deploy it")
@pytest.mark.deploy_target("server-x86-cpp")
def test_gpt2_with_cache_without_python(inference_check):
    inference_check(zoo.tiny_gpt2(), zoo.token_ids(), name="gpt2-cache")
