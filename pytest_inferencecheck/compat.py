"""Every private torch name this package uses, detected on the installed torch, with a fallback.

A private name can move or vanish in any torch release. Each function here looks the name up
when called, and when it is missing falls back to a public surface or to an answer that is safe
for its caller (for a cache key: "cannot be keyed", so the result is measured again, never
reused on a guess). `tests/test_compat.py` checks each detection against the installed torch.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any


def config_hash(module: str) -> str | None:
    """A stable digest of one of torch's config modules (`torch._inductor.config`, ...), the
    one torch's own caches key by: what does not change a compile (`compile_ignored`) is left
    out. None when the module or its hash cannot be had on this torch."""
    try:
        config = importlib.import_module(module)
    except ImportError:
        return None
    get_hash = getattr(config, "get_hash", None)
    try:
        if callable(get_hash):
            return bytes(get_hash()).hex()
        copy = getattr(config, "get_config_copy", None)  # older ConfigModules
        if callable(copy):
            return hashlib.sha256(repr(sorted(copy().items())).encode()).hexdigest()
    except Exception:  # noqa: BLE001 - an unhashable config value: not keyable
        return None
    return None


def _inductor_search() -> tuple[str, ...]:
    """The compilers inductor tries, in order (`torch._inductor.config.cpp.cxx`)."""
    try:
        from torch._inductor import config

        cxx = config.cpp.cxx
        search = tuple(cxx) if isinstance(cxx, (list, tuple)) else (cxx,)
    except (ImportError, AttributeError):
        search = (None, os.environ.get("CXX", "clang++" if sys.platform == "darwin" else "g++"))
    return tuple(c for c in search if c)  # None: a conda download inductor does only on request


def inductor_compiler() -> str | None:
    """The C++ compiler inductor (and AOTInductor) compiles with here, as an absolute path;
    None when it finds none that runs. Resolved the way inductor resolves it: the first of
    `config.cpp.cxx` (`$CXX` when inductor was imported, else g++) whose `--version` runs."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
    except ImportError:
        get_cpp_compiler = None
    if get_cpp_compiler is not None:
        try:
            name: str | None = get_cpp_compiler()
        except Exception:  # noqa: BLE001 - InvalidCxxCompiler: none runs
            return None
    else:
        name = next((c for c in _inductor_search() if _runs(c)), None)
    if name is None:
        return None
    return shutil.which(name) or name


def inductor_search_text() -> str:
    """What inductor looks for, for a message about a missing compiler."""
    return ", ".join(_inductor_search()) or "nothing"


def _runs(compiler: str) -> bool:
    try:
        subprocess.run([compiler, "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def custom_op_functions(qualname: str) -> list[Callable[..., Any]] | None:
    """The Python functions behind an operator made with `torch.library.custom_op` (its
    kernels, fake kernel, autograd and vmap rules); None when torch keeps no such record of
    it (another registration API, or a torch without the registry)."""
    try:
        from torch._library.custom_ops import OPDEFS
    except ImportError:
        return None
    opdef = OPDEFS.get(qualname)
    if opdef is None:
        return None
    found: list[Callable[..., Any]] = []
    for value in vars(opdef).values():
        values = value.values() if isinstance(value, dict) else [value]
        found.extend(v for v in values if callable(v) and hasattr(v, "__code__"))
    for kernel in _fake_kernels(qualname):
        found.append(kernel)
    return found


def _fake_kernels(qualname: str) -> list[Callable[..., Any]]:
    """A fake (meta) kernel registered with `torch.library.register_fake`, if any."""
    try:
        from torch._library.simple_registry import singleton

        fake = singleton.find(qualname).fake_impl.kernel
    except (ImportError, AttributeError):
        return []
    func = getattr(fake, "func", fake)
    return [func] if callable(func) and hasattr(func, "__code__") else []


def loaded_op_libraries() -> list[str]:
    """Shared libraries loaded with `torch.ops.load_library` (C++ operators)."""
    return sorted(str(p) for p in getattr(getattr(sys.modules.get("torch"), "ops", None),
                                          "loaded_libraries", ()) or ())
