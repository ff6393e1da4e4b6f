import torch
from torch.jit import trace as tr

traced = torch.jit.trace(torch.nn.Linear(2, 2), (torch.ones(1, 2),))
module = torch.jit.trace_module(torch.nn.Linear(2, 2), {"forward": torch.ones(1, 2)})
aliased = tr(torch.nn.Linear(2, 2), (torch.ones(1, 2),))


class Tracer:
    def trace(self, x):
        return x


Tracer().trace(1)  # negative: not torch.jit
