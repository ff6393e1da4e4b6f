import torch
from torch import onnx

program = torch.onnx.dynamo_export(model, x)
program = onnx.dynamo_export(model, x, y, mask=m, **extra)
program = torch.onnx.dynamo_export(
    model,
    x,
)
