"""Which C++ compiler builds native code here, as a key: the binary itself, not its name.

Two compilers matter. Inductor (and AOTInductor) compile with the first of its search list that
runs (`$CXX` when inductor was imported, else g++), found on `PATH`; the C++ runner is built
with `cpp_build.find_compiler`. A `.pt2` is keyed by the first, the runner by the second. Each is
identified by its resolved path, the SHA-256 of the file (a wrapper script first on `PATH` is
another compiler, even under the same name) and what `--version` prints.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess

from pytest_inferencecheck.support import compat

NO_COMPILER = "no compiler"


def identity(compiler: str) -> str:
    """A compiler binary as a key: resolved path, content digest, first line of `--version`."""
    path = os.path.realpath(compiler)
    try:
        st = os.stat(path)
    except OSError:
        return f"{compiler}|missing"
    return _identity(path, st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=32)
def _identity(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """Cached by the file's stat: the same file is hashed and asked its version once."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return f"{path}|unreadable"
    return f"{path}|{h.hexdigest()[:16]}|{version(path)}"


def version(compiler: str) -> str:
    """The first line `compiler --version` prints ("unknown" if it prints nothing)."""
    ran = _version(compiler)
    return ran[1] if ran else "unknown"


def runs(compiler: str) -> bool:
    """True if `compiler --version` succeeds (what inductor asks before it uses one)."""
    return _version(compiler) is not None


def _version(compiler: str) -> tuple[int, str] | None:
    path = os.path.realpath(compiler)
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _ask_version(path, st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=32)
def _ask_version(path: str, size: int, mtime_ns: int, inode: int) -> tuple[int, str] | None:
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.returncode, (proc.stdout.splitlines() or ["unknown"])[0]


def inductor_compiler_identity() -> str:
    """The compiler inductor compiles with here, as a key (`NO_COMPILER` when none runs: the
    compile then fails and says so; the key only has to differ)."""
    compiler = inductor_compiler()
    return identity(compiler) if compiler else NO_COMPILER


def inductor_compiler() -> str | None:
    """The path of the compiler inductor uses, if it runs. Resolved per `PATH` and search list,
    and asked again whenever the binary changes: inductor caches its own search for the
    process, so a compiler that broke since then is found here, not in the middle of a build."""
    compiler = _inductor_compiler(os.environ.get("PATH", ""), compat.inductor_search_text())
    return compiler if compiler is not None and runs(compiler) else None


@functools.lru_cache(maxsize=8)
def _inductor_compiler(path: str, search: str) -> str | None:
    return compat.inductor_compiler()
