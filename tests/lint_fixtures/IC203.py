# lint-target: server-x86-python
import executorch
from executorch.exir import to_edge_transform_and_lower
import torch

edge = to_edge_transform_and_lower(None)
model = torch.compile(torch.nn.Linear(2, 2))  # negative: fine on a Python server
