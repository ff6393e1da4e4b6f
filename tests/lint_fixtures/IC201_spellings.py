# lint-target: mobile-android
import re

import torch
from torch import compile as tc
from torch._inductor import aoti_compile_and_package


@torch.compile
def f(x):
    return x + 1


@torch.compile(mode="max-autotune")
def g(x):
    return x * 2


model.compile()
fast = tc(model)
pkg = aoti_compile_and_package(ep)
pattern = re.compile("x+")  # negative: a regular expression
