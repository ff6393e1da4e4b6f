"""Process-wide numeric modes changed by a test for real, each with an undo that puts back all
it moved (tests share a worker process: one left changed would steer the tests after it)."""

from __future__ import annotations

from collections.abc import Callable

import torch

_PRECISIONS = [(torch.backends, ""), (torch.backends.mkldnn, ""), (torch.backends.cuda, "matmul"),
               (torch.backends.cudnn, ""), *((torch.backends.mkldnn, op)
                                             for op in ("matmul", "conv", "rnn")),
               *((torch.backends.cudnn, op) for op in ("conv", "rnn"))]


def matmul_precision(to: Callable[[str], str]) -> Callable[[], None]:
    """The legacy matmul precision changed; torch moves the new API's values with it and does
    not move them back: every one is put back as it was."""
    owners = [getattr(o, op) if op else o for o, op in _PRECISIONS]
    before = [o.fp32_precision for o in owners]
    legacy = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(to(legacy))

    def undo() -> None:
        torch.set_float32_matmul_precision(legacy)
        for owner, value in zip(owners, before):
            owner.fp32_precision = value
    return undo
