import torch

label = "ééé—日本"; traced = torch.jit.trace(model, (x,))
