import torch
import torch.jit as jit
from torch import jit as J
from torch.jit import script


@torch.jit.script
def decorated(x):
    return x


@J.script
def decorated_via_alias(x):
    return x


scripted = torch.jit.script(torch.nn.Linear(2, 2))
scripted = jit.script(torch.nn.Linear(2, 2))
scripted = script(torch.nn.Linear(2, 2))

# negatives
scripting = torch.jit.is_scripting()


def local_script(m):
    return m


local_script(1)
