import torch
import torch._inductor as inductor
from torch._inductor import aot_compile

so = torch._inductor.aot_compile(gm, (x,))  # attribute chain
so = inductor.aot_compile(gm, (x,))  # module alias
so = aot_compile(gm, (x,))  # from-import
pkg = torch._inductor.aoti_compile_and_package(ep)  # negative: the current API
