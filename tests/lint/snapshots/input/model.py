import torch
from torch import nn


class Model(nn.Module):
    def forward(self, x):
        print("shape:", x.shape)  # a message with "quotes", a % sign and a, comma
        return x


scripted = torch.jit.script(Model())
