import torch

a = torch.jit.script(torch.nn.Linear(2, 2))  # noqa: IC101
b = torch.jit.script(torch.nn.Linear(2, 2))  # noqa
c = torch.jit.script(torch.nn.Linear(2, 2))  # noqa: IC102
d = torch.jit.trace(torch.nn.Linear(2, 2), (torch.ones(1),))  # noqa: IC101, IC102
e = torch.jit.script(torch.nn.Linear(2, 2))  # NOQA:IC101
