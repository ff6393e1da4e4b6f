import torch
from torch.jit import load as jit_load

torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), "m.pt")  # noqa: IC101
model = torch.jit.load("m.pt")
model = jit_load("m.pt")
torch.save({"w": 1}, "weights.pt")  # negative: plain torch.save
state = torch.load("weights.pt")  # negative
