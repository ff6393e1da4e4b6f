"""What determines an artifact or a fact, reduced to a key.

An exported program is keyed by its graph, signature, input specs, range constraints and the
bytes of every constant and weight it embeds; a model (for facts measured without exporting) by
its module tree, every attribute that can steer `forward`, and its weights; inputs by their
values. Anything that cannot be reduced to bytes faithfully raises `Uncacheable`: it is then
measured again rather than guessed.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import os
import platform
import re
import sys
import types
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

KEY_CHARS = 32
_MAX_DEPTH = 10
_PRIMITIVES = (type(None), bool, int, float, complex, str, bytes)


class Uncacheable(Exception):
    """A value that cannot be keyed faithfully; the message names it."""


def digest(*parts: Any) -> str:
    """A key from already canonical parts (strings, numbers, nested tuples)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:KEY_CHARS]


def update_tensor(h: Any, t: torch.Tensor, where: str = "tensor") -> None:
    """Feed a tensor's dtype, shape and bytes into a hash (no copy for contiguous CPU tensors)."""
    t = t.detach()
    if type(t) not in (torch.Tensor, torch.nn.Parameter) and not isinstance(
            t, getattr(torch.nn, "Buffer", ())):
        raise Uncacheable(f"{where} is a {type(t).__name__} (a tensor subclass)")
    if t.layout != torch.strided or t.is_quantized or t.device.type == "meta":
        raise Uncacheable(f"{where} is a {t.layout} / {t.device.type} tensor")
    h.update(f"{t.dtype}|{tuple(t.shape)}|".encode())
    if t.numel() == 0:
        return
    if t.device.type != "cpu":
        t = t.cpu()
    flat = t.contiguous().reshape(-1)
    h.update(memoryview(flat.view(torch.uint8).numpy()))


def program_key(program: torch.export.ExportedProgram) -> str:
    """The key of an exported program: what any artifact compiled from it depends on."""
    h = hashlib.sha256()
    h.update(program.graph_module.code.encode())
    for node in program.graph.nodes:
        if node.op == "placeholder":
            val = node.meta.get("val")
            desc = (getattr(val, "dtype", None), tuple(getattr(val, "shape", ())),
                    val.stride() if isinstance(val, torch.Tensor) else None,
                    getattr(val, "device", None), type(val).__name__)
            h.update(f"{node.name}:{desc}".encode())
    h.update(str(program.graph_signature).encode())
    h.update(repr(sorted((str(k), str(v)) for k, v in program.range_constraints.items())).encode())
    h.update(str(program.call_spec).encode())
    for name, value in sorted([*program.state_dict.items(), *program.constants.items()],
                              key=lambda kv: kv[0]):
        h.update(name.encode() + b"=")
        if isinstance(value, torch.Tensor):
            update_tensor(h, value, f"constant {name}")
        else:  # a script object or an opaque constant: only its type is known
            h.update(f"<{type(value).__qualname__}>".encode())
    return h.hexdigest()[:KEY_CHARS]


# -- models and inputs --------------------------------------------------------------------------
_MODULE_SKIP = frozenset({"_parameters", "_buffers", "_modules", "training"})


class _Canon:
    """Canonical text for Python values; tensors go into the hash as bytes."""

    def __init__(self, h: Any) -> None:
        self.h = h
        self.seen: dict[int, int] = {}

    def add(self, value: Any, where: str, depth: int = 0) -> None:
        h = self.h
        if isinstance(value, _PRIMITIVES):
            h.update(f"{type(value).__name__}:{value!r};".encode())
            return
        if isinstance(value, (torch.dtype, torch.device, torch.Size, torch.memory_format,
                              torch.layout)):
            h.update(f"{type(value).__name__}:{value};".encode())
            return
        if isinstance(value, torch.Tensor):
            h.update(b"tensor:")
            update_tensor(h, value, where)
            return
        if depth > _MAX_DEPTH:
            raise Uncacheable(f"{where} nests deeper than {_MAX_DEPTH} levels")
        if id(value) in self.seen:  # shared or cyclic: refer to its first appearance
            h.update(f"ref:{self.seen[id(value)]};".encode())
            return
        self.seen[id(value)] = len(self.seen)
        kind = type(value)
        if isinstance(value, enum.Enum):
            h.update(f"enum:{_qualname(kind)}.{value.name};".encode())
        elif kind.__module__.startswith(("torch.export", "torch.fx.experimental")):
            h.update(f"{_qualname(kind)}:{value!r};".encode())  # Dim, DimHint: repr is exact
        elif isinstance(value, (list, tuple)):
            h.update(f"{_qualname(kind)}[{len(value)}](".encode())
            for i, v in enumerate(value):
                self.add(v, f"{where}[{i}]", depth + 1)
            h.update(b")")
        elif isinstance(value, (set, frozenset)):
            h.update(f"{kind.__name__}(".encode())
            for text in sorted(repr(v) for v in value):
                h.update(text.encode() + b",")
            h.update(b")")
        elif isinstance(value, Mapping):
            h.update(f"{_qualname(kind)}{{".encode())
            for k, v in value.items():
                self.add(k, f"{where} key", depth + 1)
                self.add(v, f"{where}[{k!r}]", depth + 1)
            h.update(b"}")
        elif isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                                functools.partial, type, types.ModuleType)):
            self._callable(value, where, depth)
        elif isinstance(value, torch.nn.Module):
            h.update(f"module:{_qualname(kind)}:".encode())
            self.module_tree(value, where, depth + 1)
        elif dataclasses.is_dataclass(value):
            h.update(f"dataclass:{_qualname(kind)}(".encode())
            for f in dataclasses.fields(value):
                self.add(getattr(value, f.name), f"{where}.{f.name}", depth + 1)
            h.update(b")")
        elif _is_pattern(value):
            h.update(f"re:{value.pattern!r}:{value.flags};".encode())
        elif type(value).__module__ == "numpy":
            self.add(torch.from_numpy(value) if hasattr(value, "shape") and value.shape else
                     repr(value), where, depth + 1)
        elif hasattr(value, "__dict__") and not hasattr(type(value), "__slots__"):
            h.update(f"object:{_qualname(kind)}(".encode())
            for k, v in vars(value).items():
                self.add(k, where, depth + 1)
                self.add(v, f"{where}.{k}", depth + 1)
            h.update(b")")
        else:
            raise Uncacheable(f"{where} is a {_qualname(kind)}, which cannot be keyed")

    def _callable(self, value: Any, where: str, depth: int) -> None:
        if isinstance(value, types.MethodType):
            self.add(value.__func__, where, depth + 1)
            self.add(value.__self__, f"{where}.__self__", depth + 1)
            return
        if isinstance(value, functools.partial):
            self.h.update(b"partial(")
            for i, part in enumerate((value.func, value.args, value.keywords)):
                self.add(part, f"{where}.partial[{i}]", depth + 1)
            self.h.update(b")")
            return
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", repr(value))
        module = getattr(value, "__module__", None) or ""
        self.h.update(f"callable:{module}.{name}".encode())
        code = getattr(value, "__code__", None)
        if code is not None:  # tells apart two lambdas of one function; the file is a dependency
            self.h.update(f"@{code.co_firstlineno}".encode())
            for i, cell in enumerate(value.__closure__ or ()):
                try:
                    contents = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                self.add(contents, f"{where} closure[{i}]", depth + 1)
            if value.__defaults__:
                self.add(value.__defaults__, f"{where} defaults", depth + 1)
        self.h.update(b";")

    def module_tree(self, model: torch.nn.Module, where: str, depth: int = 0) -> None:
        """Every submodule's type and attributes, and every parameter and buffer."""
        for name, mod in model.named_modules(remove_duplicate=False):
            path = f"{where}.{name}" if name else where
            self.h.update(f"[{name}]{_qualname(type(mod))}@{_defined_in(type(mod))}|".encode())
            self.seen[id(mod)] = len(self.seen)
            for attr, value in vars(mod).items():
                if attr in _MODULE_SKIP:
                    continue
                self.add(attr, path, depth + 1)
                self.add(value, f"{path}.{attr}", depth + 1)
            for kind in ("_parameters", "_buffers"):
                for pname, tensor in vars(mod)[kind].items():
                    self.h.update(f"{kind}:{pname}:".encode())
                    if tensor is not None:
                        update_tensor(self.h, tensor, f"{path}.{pname}")


def _qualname(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _defined_in(kind: type) -> str:
    """The file a class comes from: two copies of one module in two folders are two models."""
    module = sys.modules.get(kind.__module__)
    return str(getattr(module, "__file__", None) or kind.__module__)


def _is_pattern(value: Any) -> bool:
    return isinstance(value, re.Pattern)


def model_fingerprint(model: torch.nn.Module) -> str:
    """The model's structure, the attributes that can steer forward, and its weights."""
    h = hashlib.sha256()
    _Canon(h).module_tree(model, type(model).__name__)
    return h.hexdigest()[:KEY_CHARS]


def value_fingerprint(value: Any, where: str = "inputs") -> str:
    """Example inputs (or any plain value), by value."""
    h = hashlib.sha256()
    _Canon(h).add(value, where)
    return h.hexdigest()[:KEY_CHARS]


# -- the environment ----------------------------------------------------------------------------
@functools.cache
def tool_digest() -> str:
    """This package's own code: a changed checker may measure differently."""
    h = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".cpp"} and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def package_version(dist: str) -> str | None:
    """An installed distribution's version, without importing it."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def host() -> tuple[str, ...]:
    """The machine an artifact was compiled for: architecture and CPU features."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith(("flags", "Features", "model name")):
                    flags += line
                if line.strip() == "":
                    break  # the first CPU describes them all
    except OSError:
        flags = platform.processor()
    return (platform.system(), platform.machine(), hashlib.sha256(flags.encode()).hexdigest()[:16])


@functools.cache
def environment() -> tuple[Any, ...]:
    """Everything outside the model that a fact or an artifact depends on."""
    return (torch.__version__, package_version("executorch"), sys.version_info[:3],
            tool_digest(), host(), os.environ.get("TORCHINDUCTOR_FREEZING"))
