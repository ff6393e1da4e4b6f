"""What determines an artifact or a recorded run, reduced to a key.

Nothing here keys the facts of a trace (graph breaks, export): those are measured on every
check, as torch itself retraces with Dynamo on every compile. What is keyed comes after the
trace: an exported program by its graphs, node values, signature, range constraints and the
bytes of every weight and constant; the operators it calls that are not torch's own, by their
implementation; inputs by their values; the build and run by the software versions, the
environment and torch's configs (`runtime_state`). Anything that cannot be reduced to bytes
faithfully raises `Uncacheable`: it is then built and run again rather than guessed.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import os
import re
import sys
import types
import warnings
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from pytest_inferencecheck.errors import Uncacheable
from pytest_inferencecheck.store.trust import file_sha256
from pytest_inferencecheck.support import compat

KEY_CHARS = 32
_MAX_DEPTH = 10
_PRIMITIVES = (type(None), bool, int, float, complex, str, bytes)


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
    """The key of an exported program: what any artifact compiled from it depends on.

    Every graph (the top one and each nested one: `cond` branches, loop bodies), the value
    (dtype, shape, stride, device) every node computes, the signature, range constraints and
    calling convention, and the bytes of every weight and constant. An opaque constant (a
    script object) has no bytes to key: `Uncacheable`.
    """
    h = hashlib.sha256()
    h.update(f"dialect={getattr(program, 'dialect', '')}|".encode())
    for name, module in program.graph_module.named_modules():
        if not isinstance(module, torch.fx.GraphModule):
            continue
        h.update(f"[{name}]".encode() + module.code.encode())
        for node in module.graph.nodes:
            h.update(f"{node.name}:{_value_desc(node.meta.get('val'))};".encode())
    h.update(str(program.graph_signature).encode())
    h.update(repr(sorted((str(k), str(v)) for k, v in program.range_constraints.items())).encode())
    h.update(str(program.call_spec).encode())
    for name, value in sorted([*program.state_dict.items(), *program.constants.items()],
                              key=lambda kv: kv[0]):
        h.update(name.encode() + b"=")
        if not isinstance(value, torch.Tensor):
            raise Uncacheable(f"the exported program holds {name}, a "
                              f"{type(value).__qualname__} (an opaque constant)")
        update_tensor(h, value, f"constant {name}")
    return h.hexdigest()[:KEY_CHARS]


def _value_desc(val: Any) -> str:
    """What a node computes, as export recorded it (a fake tensor, a symbol, a tuple...)."""
    if isinstance(val, torch.Tensor):
        layout = val.stride() if val.layout == torch.strided else val.layout  # sparse: none
        return f"T({val.dtype},{tuple(val.shape)},{layout},{val.device})"
    if isinstance(val, (list, tuple)):
        return "(" + ",".join(_value_desc(v) for v in val) + ")"
    return f"{type(val).__name__}:{val}" if val is not None else ""


# Operators whose implementation ships with torch (and is keyed by torch's version).
TORCH_NAMESPACES = frozenset({
    "aten", "prims", "higher_order", "quantized", "_quantized", "quantized_decomposed",
    "rngprims", "debugprims", "profiler", "inductor", "_c10d_functional",
    "_c10d_functional_autograd", "c10d_functional", "c10d", "_dtensor", "_export"})


def foreign_ops(program: torch.export.ExportedProgram) -> list[str]:
    """The operators the program calls whose implementation does not ship with torch (custom
    operators, a library's own), by qualified name: what runs when the artifact runs."""
    found: set[str] = set()
    for module in program.graph_module.modules():
        if not isinstance(module, torch.fx.GraphModule):
            continue
        for node in module.graph.nodes:
            namespace = getattr(node.target, "namespace", None)
            if node.op == "call_function" and isinstance(namespace, str) and \
                    namespace not in TORCH_NAMESPACES:
                found.add(str(getattr(node.target, "name", lambda: node.target)()))
    return sorted(found)


def ops_fingerprint(program: torch.export.ExportedProgram) -> str:
    """What the program's foreign operators are: each one's schema and the source of every
    Python function behind it (`torch.library.custom_op`), and the shared libraries of C++
    operators. `Uncacheable` for an operator whose implementation cannot be found."""
    ops = foreign_ops(program)
    if not ops:
        return ""
    h = hashlib.sha256()
    libraries = compat.loaded_op_libraries()
    for qualname in ops:
        base = qualname.split(".")[0]
        h.update(f"{qualname}|{_schema(qualname)}|".encode())
        functions = compat.custom_op_functions(base)
        if functions is None:  # a C++ kernel, or a Python one torch keeps no record of: a
            # loaded library need not be where it lives, so nothing names it faithfully
            raise Uncacheable(f"the operator {qualname} is not torch's own and its "
                              "implementation cannot be found")
        for fn in functions:
            _update_function(h, fn)
    for path in libraries:
        h.update(f"lib:{path}:{file_sha256(path)}|".encode())
    return h.hexdigest()[:KEY_CHARS]


def _schema(qualname: str) -> str:
    namespace, _, name = qualname.partition("::")
    op_name, _, overload = name.partition(".")
    try:
        packet = getattr(getattr(torch.ops, namespace), op_name)
        return compat.op_schema(packet, overload or "default") or "?"
    except (AttributeError, RuntimeError):
        return "?"


def _update_function(h: Any, fn: Any) -> None:
    """A Python function by its code: the file it is defined in (by content), where in it, and
    the bytecode and constants (a function made by `exec` has no file)."""
    code = fn.__code__
    h.update(f"fn:{fn.__module__}.{fn.__qualname__}@{code.co_firstlineno}|".encode())
    h.update(code.co_code + repr(code.co_consts).encode() + repr(code.co_names).encode())
    try:
        h.update(file_sha256(code.co_filename).encode())
    except OSError:
        h.update(b"<no file>")


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
    root = Path(__file__).parent.parent  # the package, not this subpackage
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
def versions() -> tuple[Any, ...]:
    """The software that builds and runs artifacts: torch, ExecuTorch, Python, this package.
    torch by its sources' content, as its own compile caches key it: the same release installed
    in another folder or on another machine gives the same key; an edited checkout does not."""
    return (torch.__version__, compat.torch_source_key(), package_version("executorch"),
            sys.version_info[:3], tool_digest())


# Environment variables that steer how torch, inductor, the compiler, OpenMP, MKL, CUDA or
# ExecuTorch build or run an artifact. (What `forward` itself reads is in the fresh trace.)
ENV_PREFIXES = ("TORCH", "PYTORCH", "INDUCTOR", "AOT", "ATEN_", "OMP_", "KMP_", "GOMP_", "MKL",
                "DNNL_", "ONEDNN_", "OPENBLAS", "XNNPACK", "CUDA", "CUBLAS", "CUDNN", "NVIDIA",
                "HIP", "ROCM", "EXECUTORCH", "ET_", "CXX", "CC", "CFLAGS", "CPPFLAGS", "LDFLAGS",
                "CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "LIBRARY_PATH",
                "LD_LIBRARY_PATH", "LD_PRELOAD")


# Process-wide numeric modes of torch's backends, read as attributes (None where this torch has
# none): which kernels run and at what precision.
_NUMERIC_FLAGS = tuple((owner, flag) for owner, flags in (
    ("", ("fp32_precision",)),
    ("mkldnn", ("enabled", "deterministic", "fp32_precision")),
    *((f"{lib}.{op}", ("fp32_precision",)) for lib, ops in (("mkldnn", ("matmul", "conv", "rnn")),
                                                            ("cudnn", ("conv", "rnn")))
      for op in ops),
    ("quantized", ("engine",)),
    ("cudnn", ("enabled", "allow_tf32", "deterministic", "benchmark", "fp32_precision")),
    ("cuda.matmul", ("allow_tf32", "allow_fp16_reduced_precision_reduction",
                     "allow_bf16_reduced_precision_reduction", "allow_fp16_accumulation",
                     "fp32_precision")),
) for flag in flags)

# The same, read by calling torch's getters: attention kernels and the GPU libraries chosen.
_NUMERIC_GETTERS = tuple(("cuda", getter) for getter in (
    "flash_sdp_enabled", "mem_efficient_sdp_enabled", "math_sdp_enabled", "cudnn_sdp_enabled",
    "fp16_bf16_reduction_math_sdp_allowed", "preferred_linalg_library",
    "preferred_blas_library"))


# Where a cache lives decides nothing it holds (and inductor sets its own on first use, torch 2.10)
_WHERE_CACHES_LIVE = ("_CACHE_DIR",)


def _resolve(owner: str) -> Any:
    obj: Any = torch.backends
    for part in filter(None, owner.split(".")):
        obj = getattr(obj, part, None)
    return obj


def _getter(owner: str, name: str) -> str | None:
    fn = getattr(_resolve(owner), name, None)
    try:
        return str(fn()) if callable(fn) else None
    except (RuntimeError, AssertionError):  # a query this build cannot answer decides nothing
        return None


def _matmul_precision() -> str:
    """The legacy matmul precision; "mixed" where one backend's was set with the new API
    (torch then refuses the legacy query; each backend's own is keyed beside it)."""
    try:
        return torch.get_float32_matmul_precision()
    except RuntimeError:
        return "mixed"


def numeric_modes() -> tuple[Any, ...]:
    """torch's process-wide numeric modes: what an artifact computes may change with any of
    them, and none is in the program. (Not here, each for a reason: the RNG state, which only
    programs that draw random numbers read, and whose runs are then not recorded; autocast and
    the default dtype or device at trace time, which the program records; the fast path of
    `nn.MultiheadAttention`, which only eager takes, and eager runs on every check.)"""
    with warnings.catch_warnings():  # some of these flags are deprecated in favour of others
        warnings.simplefilter("ignore")
        return (torch.get_num_threads(), _matmul_precision(),
                torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
                getattr(getattr(torch.utils, "deterministic", None),
                        "fill_uninitialized_memory", None),
                str(torch.get_default_dtype()), compat.flush_denormal(),
                *(getattr(_resolve(owner), flag, None) for owner, flag in _NUMERIC_FLAGS),
                *(_getter(owner, name) for owner, name in _NUMERIC_GETTERS))


def runtime_state() -> tuple[Any, ...]:
    """The process state an artifact's build and run depend on besides its program: the
    environment variables above, threads, torch's numeric modes and the configs of inductor and
    AOTAutograd (as torch's own compile caches key them). Read on every call: a test or a
    conftest may change any of it between two checks.

    The rule: a process-wide numeric mode that changes an artifact's outputs is in this key
    (and so in the run record's), or the run is not recorded. A config value torch cannot hash
    by content (a custom pass without `uuid()`, a callable) raises `Uncacheable`, as torch's
    own FX graph cache bypasses itself for one."""

    env = tuple(sorted((k, v) for k, v in os.environ.items()
                       if k.startswith(ENV_PREFIXES) and not k.endswith(_WHERE_CACHES_LIVE)))
    configs = tuple(compat.config_hash(module)
                    for module in ("torch._inductor.config", "torch._functorch.config"))
    return env, numeric_modes(), configs
