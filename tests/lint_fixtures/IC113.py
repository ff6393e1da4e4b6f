import torch
import torch.jit as J
from torch.jit import optimize_for_inference

frozen = torch.jit.freeze(scripted)
frozen = J.freeze(scripted)
fast = optimize_for_inference(scripted)
fast = torch.jit.optimize_for_inference(scripted)
