import torch
from torch._export import aot_load as load

runner = load("model.so", "cpu")
runner = torch._export.aot_load("model.so", "cpu")
runner = torch._inductor.aoti_load_package("model.pt2")  # negative
