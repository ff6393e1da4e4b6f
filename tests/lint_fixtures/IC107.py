import torch
from torch.jit.mobile import _load_for_lite_interpreter

scripted = torch.jit.script(torch.nn.Linear(2, 2))  # noqa: IC101
scripted._save_for_lite_interpreter("m.ptl")
buffer = scripted._save_to_buffer_for_lite_interpreter()
lite = _load_for_lite_interpreter("m.ptl")
lite = torch.jit._load_for_lite_interpreter("m.ptl")
