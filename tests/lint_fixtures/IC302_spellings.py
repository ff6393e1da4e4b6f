import torch
from torch import nn


def scale_of(t):
    return t.max().item()  # reached from forward through a module-level helper


def unused(t):
    return t.max().item()  # negative: nothing in forward calls it


class Model(nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        a = float(x)
        b = int(x.sum())
        c = bool(mask)
        eps = float(self.config.eps)  # negative: a config value
        n = int(x.shape[0])  # negative: a size
        return x * scale_of(x) + a + b + c + eps + n
