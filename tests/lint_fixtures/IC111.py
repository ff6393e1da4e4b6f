import torch
import torch._dynamo as dynamo
from torch._dynamo import export as dynamo_export

gm, guards = torch._dynamo.export(model)(x)
gm, guards = dynamo.export(model)(x)
gm, guards = dynamo_export(model)(x)
ep = torch.export.export(model, (x,))  # negative
