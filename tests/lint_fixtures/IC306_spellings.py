import torch
from torch import nn


class Model(nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor, a, b, output_attentions=False):
        if mask:  # a tensor's truth
            x = x + 1
        if torch.eq(a, b):
            x = x + 2
        m = x.max()
        if m > 0:  # a local holding a reduction
            x = x + 3
        if self.cfg.max() > 1:  # negative: a config object's method
            x = x + 4
        if self.config.use_cache:  # negative: a config value
            x = x + 5
        if output_attentions:  # negative: a flag
            x = x + 6
        if x.shape[0] > 1:  # negative: a shape
            x = x + 7
        if mask is not None:  # negative: identity, not value
            x = x + 8
        return x
