import logging

import numpy as np
import torch
from torch import nn

logger = logging.getLogger(__name__)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        print("building")  # negative: not forward
        self.lin = nn.Linear(4, 4)

    def forward(self, x, mask=None):
        print(x.shape)
        logging.info("forward")
        logger.debug("forward %s", x.shape)
        if x.sum() > 0:
            x = x * 2
        while torch.any(x > 10):
            x = x / 2
        y = x if x.max().item() > 1 else -x
        if mask is None:  # negative: a None check
            mask = torch.ones_like(x)
        if x.shape[0] > 1 and self.training:  # negative: shape and config
            x = x + 1
        if max(1, 2) > 1:  # negative: a builtin on constants
            pass
        return self.head(y * mask)

    def head(self, y):
        scale = y.abs().max().item()
        ids = y.argmax(-1).tolist()
        arr = y.detach().cpu().numpy()
        z = np.exp(1.0)
        return self.lin(y) / (scale + len(ids) + arr.size + z)

    def not_called(self, y):
        print(y)  # negative: forward never calls this
        return y.item()


def free_function(x):
    print(x)  # negative: not in a module's forward
    return x.item()
