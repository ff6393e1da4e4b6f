import torch
from torch.utils.mobile_optimizer import optimize_for_mobile
import torch.utils.mobile_optimizer as mo

optimized = optimize_for_mobile(None)
optimized = mo.optimize_for_mobile(None)
optimized = torch.utils.mobile_optimizer.optimize_for_mobile(None)
