"""The runner's tensor files: a raw format the C++ side reads without a serialization library.

"ICT1", uint32 count, then per tensor: uint32 length + dtype name, uint32 ndim, int64 sizes,
uint64 byte count, the bytes (contiguous, native byte order). See aoti_runner.cpp.
"""

from __future__ import annotations

import struct
from pathlib import Path

import torch

MAGIC = b"ICT1"
DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
          torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32",
          torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
          torch.complex64: "complex64", torch.complex128: "complex128"}
BY_NAME = {name: dtype for dtype, name in DTYPES.items()}


def write(path: Path, tensors: list[torch.Tensor]) -> None:
    """Write tensors (moved to the CPU, made contiguous) for the runner."""
    with open(path, "wb") as out:
        out.write(MAGIC + struct.pack("<I", len(tensors)))
        for t in tensors:
            t = t.detach().cpu().contiguous()
            if t.dtype not in DTYPES:
                raise TypeError(f"the C++ runner cannot take {t.dtype} tensors")
            name = DTYPES[t.dtype].encode()
            out.write(struct.pack("<I", len(name)) + name + struct.pack("<I", t.dim()))
            out.write(struct.pack(f"<{t.dim()}q", *t.shape))
            out.write(struct.pack("<Q", t.numel() * t.element_size()))
            if t.numel():
                out.write(memoryview(t.reshape(-1).view(torch.uint8).numpy()))


def read(path: Path) -> list[torch.Tensor]:
    """Read the tensors the runner wrote."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"{path} is not a tensor file from the C++ runner")
    (count,), at = struct.unpack_from("<I", data, 4), 8
    out = []
    for _ in range(count):
        (length,) = struct.unpack_from("<I", data, at)
        name = bytes(data[at + 4:at + 4 + length]).decode()
        at += 4 + length
        (ndim,) = struct.unpack_from("<I", data, at)
        sizes = struct.unpack_from(f"<{ndim}q", data, at + 4)
        at += 4 + 8 * ndim
        (nbytes,) = struct.unpack_from("<Q", data, at)
        at += 8
        raw = torch.frombuffer(bytearray(data[at:at + nbytes]), dtype=torch.uint8) if nbytes \
            else torch.empty(0, dtype=torch.uint8)
        out.append(raw.view(BY_NAME[name]).reshape(sizes))
        at += nbytes
    return out
