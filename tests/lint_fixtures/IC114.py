import torch
import torch._dynamo


@torch.compile(backend="ts")
def f(x):
    return x + 1


m1 = torch.compile(model, backend="ts")
model.compile(backend="aot_ts")
m2 = torch._dynamo.optimize("ts")(model)
m3 = torch.compile(model, backend="inductor")  # negative
m4 = torch.compile(model)  # negative
