import torch
import torch._dynamo


@torch.compile(backend="ts")
def f(x):
    return x + 1


m1 = torch.compile(model, backend="ts")
m2 = torch.compile(model, backend="aot_ts", mode="reduce-overhead")
m3 = torch.compile(backend="ts", model=model)
model.compile(backend="aot_ts")
m4 = torch._dynamo.optimize("ts")(model)
m5 = torch.compile(
    model,
    backend="ts",
)
