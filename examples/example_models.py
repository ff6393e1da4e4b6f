"""Example models, built from configs with random weights (nothing is downloaded)."""

from __future__ import annotations

import torch
from torch import nn


class SmallCNN(nn.Module):
    """A clean image classifier: no graph break, exports, AOT-compiles."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class ScoredRanker(nn.Module):
    """A model with graph breaks: logging, a branch on a tensor value, `.item()`."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.proj(x)
        print(f"scoring batch of {x.shape[0]}")
        if scores.mean() > 0:
            scores = scores - scores.mean()
        top = scores.max().item()
        return scores / (abs(top) + 1.0)


def tiny_bert() -> nn.Module:
    """A two-layer Hugging Face BERT encoder."""
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, vocab_size=100, max_position_embeddings=64))


def tiny_gpt2() -> nn.Module:
    """A two-layer Hugging Face GPT-2 decoder with its KV cache on (returns a DynamicCache)."""
    from transformers import GPT2Config, GPT2Model

    return GPT2Model(GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=100, n_positions=64,
                                bos_token_id=0, eos_token_id=0, use_cache=True))


def image_batch() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 32, 32),)


def token_ids() -> tuple[torch.Tensor]:
    return (torch.randint(0, 100, (1, 12)),)


def cnn_with_inputs() -> tuple[nn.Module, tuple[torch.Tensor]]:
    """A factory for config-declared checks: returns the model and its example inputs."""
    return SmallCNN(), image_batch()
