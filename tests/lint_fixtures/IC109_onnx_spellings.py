import torch
import torch.onnx
from torch.onnx import utils
from torch.onnx.utils import export as legacy_export


def save(model, x, use_dynamo):
    torch.onnx.export(model, (x,), "m.onnx", dynamo=use_dynamo)  # a flag: maybe legacy
    torch.onnx.utils.export(model, (x,), "m.onnx")  # the legacy exporter itself
    utils.export(model, (x,), "m.onnx")
    legacy_export(model, (x,), "m.onnx")
    torch.onnx.export(model, (x,), "m.onnx", dynamo=True)  # negative
    torch.onnx.export(model, (x,), "m.onnx")  # negative: dynamo=True is the default
