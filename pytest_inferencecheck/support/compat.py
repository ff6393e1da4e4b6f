"""Every private torch name this package uses, detected on the installed torch, with a fallback.

A private name can move or vanish in any torch release. Each function here looks the name up
when called, and when it is missing falls back to a public surface or to an answer that is safe
for its caller (for a cache key: "cannot be keyed", so the result is measured again, never
reused on a guess). `tests/unit/support/test_compat.py` checks each detection against the installed torch.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import functools
import hashlib
import importlib
import inspect
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from types import ModuleType
from typing import Any

from pytest_inferencecheck.errors import Uncacheable


def pytree() -> ModuleType:
    """torch's pytree utilities: the public `torch.utils.pytree` where this torch has one, else
    `torch.utils._pytree` (every torch 2.x; the public module does not exist up to 2.14)."""
    try:
        return importlib.import_module("torch.utils.pytree")
    except ImportError:
        return importlib.import_module("torch.utils._pytree")


@dataclass(frozen=True)
class BreakHook:
    """Dynamo's per-break logging method, with the signature this torch gives it."""

    owner: type
    original: Callable[..., Any]
    signature: inspect.Signature


def graph_break_hook() -> BreakHook | None:
    """`InstructionTranslatorBase.log_graph_break`, the one place every Dynamo break passes,
    when this torch has it in a form the recorder reads: `(code_options, reason, exc)` (2.13:
    the exception carries type, message and user stack) or `(code_options, reason,
    user_stack)` (2.10: the message and the stack). Callers bind arguments by name.
    None (2.6 has no such method): record breaks with `torch._dynamo.explain`."""
    try:
        from torch._dynamo import symbolic_convert  # noqa: PLC0415 - defers torch

        owner = symbolic_convert.InstructionTranslatorBase
        original = owner.__dict__["log_graph_break"]
        signature = inspect.signature(original)
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):
        return None
    names = set(signature.parameters)
    if "reason" not in names or not names & {"exc", "user_stack"}:
        return None
    return BreakHook(owner, original, signature)


def dynamo_explain() -> Callable[..., Any] | None:
    """`torch._dynamo.explain` (torch 2.0+), the fallback source of graph breaks; None where
    this torch lacks it."""
    try:
        import torch._dynamo as dynamo  # noqa: PLC0415 - defers torch
    except ImportError:
        return None
    return getattr(dynamo, "explain", None)


def tracing_stack() -> list[Any]:
    """The user stack Dynamo is tracing at this moment (`TracingContext.extract_stack`, what
    `log_graph_break` itself falls back to); empty where this torch has no such call."""
    try:
        from torch._guards import TracingContext  # noqa: PLC0415 - defers torch

        return list(TracingContext.extract_stack())
    except Exception:  # noqa: BLE001
        return []


def graph_break_ids() -> dict[str, str]:
    """torch's registry of break ids (`GB0000`...) by break type; empty where this torch has
    none (the break's type name is reported instead)."""
    try:
        from torch._dynamo.exc import _load_gb_type_to_gb_id_map  # noqa: PLC0415 - defers torch

        return dict(_load_gb_type_to_gb_id_map())
    except Exception:  # noqa: BLE001 - missing, or its data file is: no ids
        return {}


def interned_filenames() -> dict[int, str]:
    """Frame file ids -> names from torch's process-wide intern table of structured logs
    (`torch._logging.structured.INTERN_TABLE`), which draft export's report refers to; empty
    where this torch has none (the report's own table is used alone)."""
    try:
        from torch._logging.structured import INTERN_TABLE  # noqa: PLC0415 - defers torch

        return {i: s for s, i in INTERN_TABLE.items()}
    except (ImportError, AttributeError):
        return {}


def draft_export() -> Callable[..., Any] | None:
    """`torch.export.draft_export` (public, torch 2.7+); None where this torch lacks it."""
    import torch.export  # noqa: PLC0415 - defers torch

    return getattr(torch.export, "draft_export", None)


def draft_report(program: Any) -> Any:
    """The report a draft export attaches to its program (`ExportedProgram._report`); None
    when this torch attaches none."""
    return getattr(program, "_report", None)


def reorder_kwargs(kwargs: dict[str, Any], in_spec: Any) -> dict[str, Any]:
    """Keyword arguments in the order an exported program's input spec names them
    (`torch.export._tree_utils.reorder_kwargs`; the same by hand where it is missing)."""
    try:
        from torch.export._tree_utils import reorder_kwargs as reorder  # noqa: PLC0415 - defers torch
    except ImportError:
        reorder = None
    if reorder is not None:
        return reorder(kwargs, in_spec)
    children = in_spec.children() if hasattr(in_spec, "children") else in_spec.children_specs
    return {key: kwargs[key] for key in children[1].context}


@dataclass(frozen=True)
class Aoti:
    """AOTInductor's Python entry points (`torch._inductor.aoti_compile_and_package` and
    `aoti_load_package`, the names torch's AOTInductor documentation gives, torch 2.6+)."""

    compile_and_package: Callable[..., Any]
    load_package: Callable[..., Any]


def aoti() -> Aoti | None:
    """AOTInductor's packaging API on this torch; None where it is missing."""
    try:
        import torch._inductor as inductor  # noqa: PLC0415 - defers torch

        return Aoti(inductor.aoti_compile_and_package, inductor.aoti_load_package)
    except (ImportError, AttributeError):
        return None


def operator_name(target: Any) -> str | None:
    """`ns::name.overload` of an FX node's target when it is an operator overload
    (`torch._ops.OpOverload.name()`); None for anything else, or a torch without that class."""
    import torch  # noqa: PLC0415 - defers torch

    kind = getattr(getattr(torch, "_ops", None), "OpOverload", None)
    if kind is None or not isinstance(target, kind):
        return None
    name = getattr(target, "name", None)
    return name() if callable(name) else None


def torch_source_key() -> str:
    """torch's own key of its code (`torch._inductor.codecache.torch_key`: its version and the
    content of its Python sources, wherever it is installed); where this torch has none, its
    version, build commit and folder (sound, but not shared across folders)."""
    import torch  # noqa: PLC0415 - defers torch

    try:
        from torch._inductor.codecache import torch_key  # noqa: PLC0415 - defers torch

        return bytes(torch_key()).hex()
    except Exception:  # noqa: BLE001 - a torch without it keys by where it is
        return f"{torch.__version__}|{getattr(torch.version, 'git_version', '')}|" \
               f"{os.path.dirname(os.path.abspath(torch.__file__))}"


def op_schema(packet: Any, overload: str) -> str | None:
    """An operator overload's schema text (`OpOverload._schema`); None where it has none."""
    schema = getattr(getattr(packet, overload, None), "_schema", None)
    return None if schema is None else str(schema)


# Config entries torch itself writes during a compile, which decide nothing a check measures:
# the first AOTInductor compile fills `aot_inductor.metadata` (device, platform, ISA) into the
# package's metadata in place, and torch 2.10 counts it in the config's hash, so every key read
# after the first compile would differ from one read before it.
_WRITTEN_BY_TORCH: dict[str, dict[str, Any]] = {
    "torch._inductor.config": {"aot_inductor.metadata": {}},
}


def config_hash(module: str) -> str:
    """A stable digest of one of torch's config modules (`torch._inductor.config`, ...), the
    one torch's own caches key by: what does not change a compile (`compile_ignored`, and the
    entries torch writes itself, `_WRITTEN_BY_TORCH`) is left out.

    A value that is not plain data (a custom pass, a partitioner function) is keyed as torch's
    FX graph cache keys it: by its `uuid()`; one without (a bare callable, a pass whose uuid is
    None) raises `Uncacheable`, as torch bypasses its own cache for one. Its repr, which torch's
    `get_hash` would use, names neither its code nor its state. `Uncacheable` too where the
    module or its hash cannot be had on this torch."""
    try:
        config = importlib.import_module(module)
    except ImportError:
        raise Uncacheable(f"{module} cannot be imported on this torch") from None
    get_hash = getattr(config, "get_hash", None)
    try:
        objects = _config_objects(module, config)
        with _patched(config, {**_WRITTEN_BY_TORCH.get(module, {}),
                               **dict.fromkeys(_cache_ignored(config)),
                               **dict.fromkeys(objects)}):
            if callable(get_hash):
                base = bytes(get_hash()).hex()
            else:
                copy = getattr(config, "get_config_copy", None)  # older ConfigModules
                if not callable(copy):
                    raise Uncacheable(f"{module} cannot be keyed on this torch")
                base = hashlib.sha256(repr(sorted(copy().items())).encode()).hexdigest()
    except Uncacheable:
        raise
    except Exception as exc:  # noqa: BLE001 - an unhashable config value: not keyable
        raise Uncacheable(f"{module} cannot be keyed on this torch ({exc})") from None
    if not objects:
        return base
    return hashlib.sha256(repr((base, sorted(objects.items()))).encode()).hexdigest()


_OWN_INDUCTOR_CACHE: dict[tuple[int, str], str] = {}


@contextlib.contextmanager
def own_inductor_cache() -> Iterator[None]:
    """Inductor's cache directory, private to this process, for the duration of a compile.

    AOTInductor writes a package's metadata into the cache directory under a file lock, and
    zips it into the `.pt2` after releasing the lock: another process compiling the same graph
    into the same directory (the default one, shared by every process of a user: two xdist
    workers, two CI jobs) truncates the file in between, and the package holds an empty JSON
    file the C++ runner cannot parse (seen under load). A folder no other process writes,
    inside the cache directory the user chose (or inductor's default), closes the race. It
    lives as long as the process (inductor's in-memory caches point into it); where it lives
    decides nothing a check measures, and no key names it."""
    base = _inductor_cache_dir()
    own = (os.getpid(), base)  # a forked child, or another cache directory: another folder
    if own not in _OWN_INDUCTOR_CACHE:
        os.makedirs(base, exist_ok=True)  # as inductor does; a read-only one fails here, as there
        path = tempfile.mkdtemp(prefix=f"inferencecheck-{os.getpid()}-", dir=base)
        _OWN_INDUCTOR_CACHE[own] = path
        atexit.register(shutil.rmtree, path, True)
    before = os.environ.get(INDUCTOR_CACHE_ENV)
    os.environ[INDUCTOR_CACHE_ENV] = _OWN_INDUCTOR_CACHE[own]
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(INDUCTOR_CACHE_ENV, None)
        else:
            os.environ[INDUCTOR_CACHE_ENV] = before


def _inductor_cache_dir() -> str:
    """The cache directory inductor would use now: `$TORCHINDUCTOR_CACHE_DIR`, else its default
    (`torch._inductor.runtime.cache_dir_utils.default_cache_dir`, else the temporary folder)."""
    chosen = os.environ.get(INDUCTOR_CACHE_ENV)
    if chosen:
        return os.path.abspath(chosen)
    try:
        from torch._inductor.runtime.cache_dir_utils import (  # noqa: PLC0415 - defers torch
            default_cache_dir,
        )
        return os.path.abspath(default_cache_dir())
    except (ImportError, AttributeError):
        return os.path.join(tempfile.gettempdir(), "torchinductor")


INDUCTOR_CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"


def flush_denormal() -> bool:
    """Whether this thread flushes subnormal floats to zero (`torch.set_flush_denormal`).

    torch has no getter, so the arithmetic answers: a subnormal float32 survives a multiply
    by one unless the mode is on. One element is computed on the calling thread, the thread
    the mode was set on and the one that runs the checks."""
    import torch  # noqa: PLC0415 - defers torch

    return (torch.tensor(1e-40, dtype=torch.float32) * 1.0).item() == 0.0


_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _cache_ignored(config: Any) -> list[str]:
    """The entries torch's own compile caches leave out of their keys
    (`_cache_config_ignore_prefix`): absolute paths (`xpu.cutlass_dir` is the working directory,
    `cuda.cutlass_dir` the install), cache switches, trace options. Left in, a key would change
    with the folder a run starts in, the checkout, the machine. (The custom passes among them are
    keyed by their uuid, by `_config_objects`.)"""
    prefixes = tuple(getattr(config, "_cache_config_ignore_prefix", ()) or ())
    entries = getattr(config, "_config", None)
    if not prefixes or not isinstance(entries, dict):
        return []
    return [name for name in entries
            if any(name == p or name.startswith(p + ".") for p in prefixes)]


def _config_objects(module: str, config: Any) -> dict[str, str]:
    """The entries of a config module that hold objects rather than data, each by its uuid."""
    entries = getattr(config, "_config", None)
    if not isinstance(entries, dict):
        return {}
    ignored = set(getattr(config, "_compile_ignored_keys", ()) or ())
    found = {}
    for name in entries:
        if name in ignored:
            continue
        value = getattr(config, name, None)
        if not _is_data(value):
            found[name] = _object_id(f"{module}.{name}", value)
    return found


@functools.cache
def _data_types() -> tuple[type, ...]:
    import torch  # noqa: PLC0415 - defers torch

    return (*_PLAIN, enum.Enum, torch.dtype, torch.device)


def _is_data(value: Any) -> bool:
    if isinstance(value, _data_types()):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_is_data(v) for v in value)
    if isinstance(value, dict):
        return all(_is_data(k) and _is_data(v) for k, v in value.items())
    return False


def _object_id(where: str, value: Any) -> str:
    """A config object by what its author vouches for: `uuid()` (torch's CustomGraphPass)."""
    if isinstance(value, (list, tuple)):
        return repr([_object_id(f"{where}[{i}]", v) for i, v in enumerate(value)])
    if _is_data(value):
        return repr(value)
    uuid = getattr(value, "uuid", None)
    uid = uuid() if callable(uuid) else None
    if uid is None:
        raise Uncacheable(
            f"{where} is {_short_repr(value)}, which torch cannot key by content (its repr names "
            "neither its code nor its state): artifacts it decides are built for each check and "
            "not kept. Make it a torch._inductor.custom_graph_pass.CustomGraphPass with a uuid() "
            "(e.g. get_hash_for_files((__file__,))) to let them be reused")
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}:{uid!r}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _patched(config: Any, values: dict[str, Any]) -> Any:
    """`config.patch(values)` for the entries this torch has; a no-op context otherwise."""

    present = {}
    for name, value in values.items():
        owner: Any = config
        for part in name.split(".")[:-1]:
            owner = getattr(owner, part, None)
        if owner is not None and hasattr(owner, name.rsplit(".", 1)[-1]):
            present[name] = value
    patch = getattr(config, "patch", None)
    return patch(present) if present and callable(patch) else contextlib.nullcontext()


def _inductor_search() -> tuple[str, ...]:
    """The compilers inductor tries, in order (`torch._inductor.config.cpp.cxx`)."""
    try:
        from torch._inductor import config  # noqa: PLC0415 - defers torch

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
        from torch._inductor.cpp_builder import get_cpp_compiler  # noqa: PLC0415 - defers torch
    except ImportError:
        get_cpp_compiler = None
    if get_cpp_compiler is not None:
        try:
            name: str | None = get_cpp_compiler()
        except Exception as exc:
            # Only inductor's own verdict means "no compiler runs"; anything else (an import
            # error inside inductor, a bug) is not a missing compiler and must say what it is.
            if type(exc).__name__ != "InvalidCxxCompiler":
                raise
            return None
    else:
        name = next((c for c in _inductor_search() if _runs(c)), None)
    if name is None:
        return None
    return shutil.which(name) or name


# Everything `probe_cpu_isa` imports, directly or lazily: imported first on the calling thread
# (`host.prewarm`), so the probe's thread never races the user's own import of torch.
CPU_PROBE_MODULES = ("torch._inductor.cpu_vec_isa", "torch._inductor.codecache",
                     "torch._inductor.cpp_builder", "torch.utils._filelock",
                     "torch.utils.cpp_extension")


def probe_cpu_isa() -> bool:
    """Run inductor's CPU probes ahead of its first compile: it compiles and loads one probe per
    vector ISA, one after the other; here they run side by side (they are compiler processes),
    and inductor caches each verdict. False, doing nothing, where torch lacks these names
    (`torch._inductor.cpu_vec_isa`): inductor then probes when it first compiles, as it would."""
    try:
        from torch._inductor import cpu_vec_isa  # noqa: PLC0415 - defers torch

        checker = cpu_vec_isa.x86_isa_checker
        supported = cpu_vec_isa.supported_vec_isa_list
        pick = cpu_vec_isa.pick_vec_isa
    except (ImportError, AttributeError):
        return False
    if platform.machine() in ("x86_64", "AMD64"):
        flags = checker()
        candidates = [isa for isa in supported if all(flag in flags for flag in str(isa).split())]
        with ThreadPoolExecutor(max(1, len(candidates))) as pool:
            list(pool.map(bool, candidates))  # each probe's verdict is cached by inductor
    pick()
    return True


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
        from torch._library.custom_ops import OPDEFS  # noqa: PLC0415 - defers torch
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
        from torch._library.simple_registry import singleton  # noqa: PLC0415 - defers torch

        fake = singleton.find(qualname).fake_impl.kernel
    except (ImportError, AttributeError):
        return []
    func = getattr(fake, "func", fake)
    return [func] if callable(func) and hasattr(func, "__code__") else []


def loaded_op_libraries() -> list[str]:
    """Shared libraries loaded with `torch.ops.load_library` (C++ operators)."""
    return sorted(str(p) for p in getattr(getattr(sys.modules.get("torch"), "ops", None),
                                          "loaded_libraries", ()) or ())


def executorch_flatc() -> str | None:
    """Make the FlatBuffers compiler an older ExecuTorch serializes with findable; the path
    set, or None when nothing was needed or none was found.

    ExecuTorch 1.1 (the release paired with torch 2.10) runs `flatc` to write a `.pte`: it looks
    for a `flatbuffers-flatc` resource beside `executorch.exir._serialize`, then at
    `$FLATC_EXECUTABLE`, then for `flatc` on PATH; but its wheel ships the binary as
    `executorch/data/bin/flatc`, so lowering fails with "No such file or directory: 'flatc'".
    Where none of the three would be found, point `FLATC_EXECUTABLE` at the shipped binary."""
    if os.environ.get("FLATC_EXECUTABLE") or shutil.which("flatc"):
        return None
    try:
        if resources.files("executorch.exir._serialize").joinpath("flatbuffers-flatc").is_file():
            return None
        shipped = resources.files("executorch.data.bin").joinpath("flatc")
    except (ImportError, TypeError, ValueError):
        return None
    if not (shipped.is_file() and os.access(str(shipped), os.X_OK)):
        return None
    os.environ["FLATC_EXECUTABLE"] = str(shipped)
    return str(shipped)
