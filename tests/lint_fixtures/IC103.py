import torch


class Old(torch.jit.ScriptModule):
    @torch.jit.script_method
    def forward(self, x):
        return x


class New(torch.nn.Module):
    def forward(self, x):  # negative
        return x
