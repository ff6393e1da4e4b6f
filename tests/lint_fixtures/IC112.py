import torch
import torch._export
from torch._export import capture_pre_autograd_graph
from torch.export._trace import _export

gm = capture_pre_autograd_graph(model, (x,))
gm = torch._export.capture_pre_autograd_graph(model, (x,))
ep = _export(model, (x,))
ep = torch.export._trace._export(model, (x,))
gm = torch.export.export(model, (x,)).module()  # negative
