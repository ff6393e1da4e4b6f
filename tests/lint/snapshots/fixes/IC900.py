# inferencecheck: noqa: IC102
import torch

a = torch.jit.script(m)  # noqa: IC101, IC301
b = torch.jit.script(m)  # noqa: IC301
c = torch.jit.script(m)  # noqa: IC999, F401
d = torch.jit.script(m)  # noqa: IC301 - kept for the old exporter
e = torch.jit.script(m)  # noqa: IC301  # type: ignore[attr-defined]
# noqa: IC101
f = torch.jit.script(m)  # noqa: F401
g = torch.jit.script(m)  # noqa
