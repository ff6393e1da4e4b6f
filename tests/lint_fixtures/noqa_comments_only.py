import torch
from torch import nn

MESSAGE = "# inferencecheck: noqa"  # a string, not a directive: the file is still linted


class Model(nn.Module):
    def forward(self, x):
        print(x, "# noqa")  # only the string mentions the directive
        print(x)  # noqa: IC301
        return x


scripted = torch.jit.script(Model())
