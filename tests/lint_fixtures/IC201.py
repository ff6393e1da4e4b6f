# lint-target: mobile-android
import torch
from torch._inductor import aoti_load_package

model = torch.compile(torch.nn.Linear(2, 2))
runner = aoti_load_package("model.pt2")
ep = torch.export.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),))  # negative: the first step
