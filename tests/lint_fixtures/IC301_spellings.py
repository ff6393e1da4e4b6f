import logging
import warnings
from warnings import warn

import torch
from torch import nn

log = logging.getLogger(__name__)


class Model(nn.Module):
    def forward(self, x):
        warnings.warn("slow path")
        warn("slow path")
        if not torch.compiler.is_compiling():  # negative: the recommended guard
            print(x.shape)
        if torch.compiler.is_compiling():
            pass
        else:
            log.info("eager only")  # negative: the else branch of the guard
        if self.training:
            print("training only")  # negative: never runs in an eval-mode model
        if x.dim() > 1 and not torch._dynamo.is_compiling():
            print("guarded too")  # negative
        return x


class Settings:  # negative: a plain class with a forward method is not a module
    def forward(self, x):
        print(x)
        return x
