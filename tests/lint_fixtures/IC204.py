# lint-target: mac
import torch

model = torch.compile(torch.nn.Linear(2, 2))
ep = torch.export.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),))
out = torch.nn.Linear(2, 2)(torch.ones(1, 2))  # negative: eager
