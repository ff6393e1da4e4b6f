"""Build the C++ AOTI runner once per (torch, compiler, flags) into a per-user cache."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

SOURCE = Path(__file__).parent / "runners" / "aoti_runner.cpp"
BINARY_NAME = "inferencecheck-aoti-runner"


class BuildError(RuntimeError):
    """The runner could not be built; the message holds the compiler's own output."""


@dataclass(frozen=True)
class Runner:
    """A built runner binary and whether this call built it."""

    path: Path
    built: bool
    rebuilt_corrupt: bool = False


def cache_dir() -> Path:
    """`$INFERENCECHECK_CACHE_DIR`, else `$XDG_CACHE_HOME/pytest-inferencecheck`, else ~/.cache."""
    env = os.environ.get("INFERENCECHECK_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-inferencecheck"


def find_compiler() -> str:
    """`$CXX`, else the first of c++, g++, clang++ on PATH."""
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else ["c++", "g++", "clang++"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise BuildError(
        f"no C++ compiler found (looked for {', '.join(candidates)}): the server-*-cpp targets "
        "build a small runner against libtorch. Install one (e.g. `apt-get install g++`) or set "
        "CXX to its path")


def compile_command(compiler: str, source: Path, output: Path) -> list[str]:
    """The compiler command line for the runner against the installed torch."""
    root = Path(torch.__file__).parent
    lib = root / "lib"
    libs = ["-ltorch", "-ltorch_cpu", "-lc10"]
    if (lib / "libtorch_cuda.so").exists():
        libs = ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed", *libs]
    abi = int(torch.compiled_with_cxx11_abi())
    return [compiler, "-std=c++20", "-O1", f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
            "-I", str(root / "include"), "-I", str(root / "include/torch/csrc/api/include"),
            str(source), "-o", str(output), "-L", str(lib), *libs, f"-Wl,-rpath,{lib}"]


def _compiler_version(compiler: str) -> str:
    try:
        return subprocess.run([compiler, "--version"], capture_output=True, text=True,
                              timeout=30).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def build_key(compiler: str) -> str:
    """What the binary depends on: torch build, compiler and version, flags, runner source."""
    h = hashlib.sha256()
    for part in (torch.__version__, str(Path(torch.__file__).parent), compiler,
                 _compiler_version(compiler), " ".join(compile_command(compiler, SOURCE,
                                                                       Path("out"))),
                 SOURCE.read_text()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:20]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock so concurrent builders (xdist workers, parallel CI jobs) wait in turn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _valid(binary: Path, digest_file: Path) -> bool:
    try:
        return digest_file.read_text().strip() == _digest(binary)
    except OSError:
        return False


def ensure_runner(timeout_s: float = 600.0) -> Runner:
    """Return the cached runner, building it (atomically, under a lock) if absent or corrupt."""
    compiler = find_compiler()
    folder = cache_dir() / f"aoti-runner-{build_key(compiler)}"
    binary, digest_file = folder / BINARY_NAME, folder / f"{BINARY_NAME}.sha256"
    if _valid(binary, digest_file):
        return Runner(binary, built=False)
    with _locked(folder / ".lock"):
        if _valid(binary, digest_file):  # another process built it while we waited
            return Runner(binary, built=False)
        corrupt = binary.exists()
        fd, tmp = tempfile.mkstemp(prefix=f".{BINARY_NAME}-", dir=folder)
        os.close(fd)
        try:
            cmd = compile_command(compiler, SOURCE, Path(tmp))
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
            except subprocess.TimeoutExpired as exc:
                raise BuildError(f"building the C++ runner took over {timeout_s:.0f}s") from exc
            if proc.returncode != 0:
                raise BuildError(
                    f"building the C++ runner failed (exit {proc.returncode}):\n"
                    f"$ {' '.join(cmd)}\n{(proc.stderr or proc.stdout)[-4000:]}")
            os.chmod(tmp, 0o755)
            digest = _digest(Path(tmp))
            os.replace(tmp, binary)  # atomic: readers see the old file or the whole new one
            digest_tmp = digest_file.with_suffix(".tmp")
            digest_tmp.write_text(digest + "\n")
            os.replace(digest_tmp, digest_file)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return Runner(binary, built=True, rebuilt_corrupt=corrupt)
