import torch
from torch import onnx

torch.onnx.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),), "m.onnx", dynamo=False)
onnx.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),), "m.onnx", dynamo=False)
torch.onnx.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),), "m.onnx", dynamo=True)  # negative
torch.onnx.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),), "m.onnx")  # negative: default
