"""Faults of the host, not of the model: no C++ compiler, no space, no write access.

A model verdict (row 5, "AOTI cannot serve this model") must never rest on a host fault: the
model may be fine. These are errors of the item that name what to install or free, and the
check never falls back or goes green on them.
"""

from __future__ import annotations

import errno

from pytest_inferencecheck.errors import HostFault
from pytest_inferencecheck.host import toolchain
from pytest_inferencecheck.support import compat

_HOST_ERRNOS = {errno.ENOSPC: "no space left on the device",
                errno.EDQUOT: "disk quota exceeded",
                errno.EROFS: "a read-only file system",
                errno.EACCES: "permission denied"}
_HOST_TEXT = {"No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT,
              "Read-only file system": errno.EROFS}


def require_compiler() -> None:
    """Raise `HostFault` before a C++ compile that cannot succeed on this host."""
    problem = compiler_problem()
    if problem is not None:
        raise HostFault(problem)


def compiler_problem() -> str | None:
    """Why inductor cannot compile C++ here (None: it can), found the way inductor searches."""

    if toolchain.inductor_compiler() is not None:
        return None
    return (f"no working C++ compiler on this host (inductor looked for "
            f"{compat.inductor_search_text()})")


def fault_of(exc: BaseException) -> str | None:
    """The host fault behind an exception (its chain and message searched), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _HOST_ERRNOS:
            where = f" ({current.filename})" if current.filename else ""
            return f"{_HOST_ERRNOS[current.errno]}{where}"
        text = str(current)
        for needle, code in _HOST_TEXT.items():
            if needle in text:
                return _HOST_ERRNOS[code]
        if isinstance(current, HostFault):
            return str(current)
        if type(current).__name__ == "InvalidCxxCompiler":
            return "no working C++ compiler on this host"
        current = current.__cause__ or current.__context__
    return None


def host_fault(exc: BaseException) -> tuple[str, str] | None:
    """(what, what to do) of the host fault behind an exception, or None: a `HostFault`'s own
    hint where it has one, else the hint for its kind."""
    fault = fault_of(exc)
    if fault is None:
        return None
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, HostFault) and current.hint:
            return fault, current.hint
        current = current.__cause__ or current.__context__
    return fault, host_hint(fault)


INSTALL_COMPILER = ("install a C++ compiler (e.g. `apt-get install g++`), or set CXX to one; "
                    "AOTInductor and inductor compile C++ with it")


def host_hint(fault: str) -> str:
    """What to do about a host fault (a missing compiler, no space, no write access)."""
    if "compiler" in fault:
        return INSTALL_COMPILER
    if "space" in fault or "quota" in fault:
        return ("free space where the build writes (TMPDIR, the artifact store, "
                "TORCHINDUCTOR_CACHE_DIR), or point them elsewhere; the model is not at fault")
    return ("make the directory writable, or point TMPDIR / --inference-check-cache-dir / "
            "TORCHINDUCTOR_CACHE_DIR at one that is; the model is not at fault")
