import torch
from functorch.experimental.control_flow import cond
import functorch.experimental.control_flow as control_flow


def f(pred, x):
    y = cond(pred, torch.sin, torch.cos, (x,))
    return control_flow.cond(pred, torch.sin, torch.cos, (y,))
