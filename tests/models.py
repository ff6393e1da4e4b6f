"""Real models for the tests. Lines that break graphs carry a `# BREAK:<name>` marker so tests
can assert the exact user line without hard-coding numbers."""

from __future__ import annotations

import inspect

import torch
from torch import nn


def line_of(marker: str) -> int:
    """The line number in this file of `# BREAK:<marker>` (or `# AT:<marker>`)."""
    lines = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    hits = [i for i, text in enumerate(lines, 1)
            if text.rstrip().endswith((f"# BREAK:{marker}", f"# AT:{marker}"))]
    assert len(hits) == 1, marker
    return hits[0]


class SmallCNN(nn.Module):
    """A clean convolutional classifier: exports, compiles, no graph break."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.head(self.pool(x).flatten(1))


def cnn_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 16, 16),)


class ThreeBreaks(nn.Module):
    """Three different graph breaks: print, a data-dependent branch, `.item()`."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lin(x)
        print("ThreeBreaks.forward")  # BREAK:print
        if y.sum() > 0:  # BREAK:branch
            y = y * 2
        scale = y.abs().max().item()  # BREAK:item
        return y / (scale + 1.0)


def breaking_helper(x: torch.Tensor) -> torch.Tensor:
    return x * x.sum().item()  # BREAK:helper


class BreakInHelperInLoop(nn.Module):
    """The same break reached three times from a loop, one frame below forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(3):
            x = breaking_helper(x)
        return x


class DataDependentExport(nn.Module):
    """Two independent export problems in one forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # BREAK:export-branch
            x = x * 2
        n = int(x.max().item())  # BREAK:export-int
        return x + torch.zeros(n).sum()


def tiny_bert() -> nn.Module:
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, vocab_size=100, max_position_embeddings=64))


def tiny_gpt2() -> nn.Module:
    """A Hugging Face decoder with the cache on: its output holds a `DynamicCache`."""
    from transformers import GPT2Config, GPT2Model

    return GPT2Model(GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=100, n_positions=64,
                                bos_token_id=0, eos_token_id=0, use_cache=True))


def token_ids() -> tuple[torch.Tensor]:
    return (torch.randint(0, 100, (1, 8), generator=torch.Generator().manual_seed(0)),)


class PartlyDelegated(nn.Module):
    """Conv and linear go to XNNPACK; `cumsum` is an op XNNPACK does not take."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = torch.relu(self.conv(x)).amax((2, 3))
        return self.head(pooled), torch.cumsum(pooled, 1)


class Elementwise(nn.Module):
    """A short chain of pointwise ops: cheap enough that backends' overheads decide the race."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.sin(x) * 2 + 1)


@torch.compiler.disable
def _scaled_mask(scores: torch.Tensor) -> torch.Tensor:
    """A helper a library keeps out of torch.compile (as attention-mask code often is)."""
    n = scores.shape[-1]
    return scores + torch.triu(torch.full((n, n), -1e4), 1)


class CompileDisabledMask(nn.Module):
    """One Dynamo graph break (a `torch.compiler.disable`d helper) that non-strict torch.export
    traces through, and strict export refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.proj(x) @ x.transpose(-1, -2)
        return torch.softmax(_scaled_mask(scores), -1) @ x  # BREAK:disabled


class PoolWithoutStride(nn.Module):
    """`F.max_pool2d(x, 2)` leaves `stride` to its default: ExecuTorch 1.4's XNNPACK
    partitioner reads it by position and raises IndexError (fixed in 1.5)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.max_pool2d(self.conv(x), 2)  # AT:pool


class Conv3dNet(nn.Module):
    """A 3-D convolution: XNNPACK does not take it, and the portable kernel is 2-D only, so
    the `.pte` fails in the runtime with InvalidArgument."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(2, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)  # AT:conv3d


class AvgPool3dNet(nn.Module):
    """`avg_pool3d`: a Core ATen operator that ExecuTorch's runtime has no kernel for, so the
    `.pte` fails to load with OperatorMissing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool3d(x, 2) * 2  # AT:avgpool3d
