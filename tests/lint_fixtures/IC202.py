# lint-target: server-x86-cpp
import torch

model = torch.compile(torch.nn.Linear(2, 2))
ep = torch.export.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),))
pkg = torch._inductor.aoti_compile_and_package(ep)  # negative: the recommendation
