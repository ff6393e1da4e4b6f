"""Sources the tests write into throwaway files: the model module the pytester repositories
import as `mymodels`, and a `sitecustomize` that hides every TOML parser (`NO_TOML`)."""

from __future__ import annotations

MODELS = '''
import os
import torch
from torch import nn

BREAKS = int(os.environ.get("DEMO_BREAKS", "1"))

class Clean(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
    def forward(self, x):
        return torch.relu(self.lin(x))

class Breaks(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # break one
            x = x * 2
        if BREAKS > 1:
            print("two")  # break two
        return x
'''.lstrip("\n")


def line_of(marker: str) -> int:
    """The line of `mymodels.py` that carries a marker comment."""
    return next(i for i, text in enumerate(MODELS.splitlines(), 1) if marker in text)


# As on Ubuntu 22.04's python3 (3.10 without tomli): tomllib and tomli cannot be imported.
NO_TOML = '''import sys
class _NoToml:
    def find_spec(self, name, path=None, target=None):
        if name in ("tomllib", "tomli"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoToml())
'''
