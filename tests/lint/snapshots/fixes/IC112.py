import torch
import torch._export
from torch import export

ep = torch.export.export_for_training(model, (x,), strict=False)
ep = export.export_for_training(model, (x,))
gm = torch._export.capture_pre_autograd_graph(model, (x,))
