import torch

torch.onnx.export(model, (x,), "m.onnx", dynamo=False)
torch.onnx.export(model, (x,), "m.onnx", opset_version=18, dynamo=False, verbose=True)
