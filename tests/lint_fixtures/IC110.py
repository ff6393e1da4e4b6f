import torch

program = torch.onnx.dynamo_export(torch.nn.Linear(2, 2), torch.ones(1, 2))
