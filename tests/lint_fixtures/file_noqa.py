# inferencecheck: noqa
import torch

a = torch.jit.script(torch.nn.Linear(2, 2))
