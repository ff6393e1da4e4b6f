"""Build the C++ AOTI runner once per (torch, compiler, flags), as an entry of the artifact store."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pytest_inferencecheck.errors import BuildError
from pytest_inferencecheck.host import hold
from pytest_inferencecheck.host.toolchain import identity
from pytest_inferencecheck.result import REBUILT, REUSED, Use
from pytest_inferencecheck.store import open_store
from pytest_inferencecheck.store.artifacts import ArtifactStore, user_cache_root

SOURCE = Path(__file__).parent.parent / "checking" / "runners" / "aoti_runner.cpp"
BINARY_NAME = "inferencecheck-aoti-runner"


@dataclass(frozen=True)
class RunnerBinary:
    """A runner binary from the store, and what obtaining it did."""

    path: Path
    use: Use

    @property
    def built(self) -> bool:
        """True if this call put it into the store (compiled, or copied from the machine's)."""
        return self.use.status != REUSED

    @property
    def copied(self) -> bool:
        """True if this call copied it from the machine's runners instead of compiling."""
        return "copied from this machine's runners" in (self.use.note or "")

    @property
    def rebuilt_corrupt(self) -> bool:
        """True if a stored binary failed its checksum and was compiled again."""
        return self.use.status == REBUILT


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


def build_key(compiler: str) -> str:
    """What the binary depends on: torch build, the compiler binary, flags, runner source."""
    h = hashlib.sha256()
    for part in (torch.__version__, str(Path(torch.__file__).parent), identity(compiler),
                 " ".join(compile_command(compiler, SOURCE, Path("out"))), SOURCE.read_text()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:32]


_COMPILING: set[subprocess.Popen] = set()


def stop() -> None:
    """Kill a runner build still compiling (Ctrl-C, the end of the run): no compiler may write
    into the store after the run exits. The next run clears what it left in scratch."""
    for proc in list(_COMPILING):
        _kill_group(proc)
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            proc.wait(timeout=30)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)


atexit.register(stop)


def lower_priority(pid: int) -> None:
    """Let a background process yield the CPU to the work a check is waiting for."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except (OSError, AttributeError):  # gone already, or a platform without priorities
        pass


RUNNER_DIR_ENV = "INFERENCECHECK_RUNNER_DIR"


def machine_root() -> Path:
    """Where this machine keeps its C++ runners: `$INFERENCECHECK_RUNNER_DIR`, else the user's
    cache folder (`user_cache_root`), whatever artifact store a run names."""
    env = os.environ.get(RUNNER_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else user_cache_root()


def machine_store(store: ArtifactStore) -> ArtifactStore | None:
    """The machine's runner folder as a store (`machine_root`), where a runner is kept once per
    machine and by content (its key: source, compiler, flags, torch), whatever artifact store a
    run names; None for a run that keeps nothing (`--no-inference-check-cache`) and for a run
    whose store is that folder. It is opened as any store is: one that another user can write
    is not read."""
    if not store.persistent:
        return None
    machine = open_store(machine_root())
    return None if machine.root.resolve() == store.root.resolve() else machine


def ensure_runner(store: ArtifactStore | None = None, timeout_s: float = 600.0, *,
                  background: bool = False) -> RunnerBinary:
    """The runner from the run's store (its team store too); else copied from the machine's
    runner folder (`machine_store`), compiled there first if absent: a cold store costs a
    copy, not a compile. Under the store's lock, and rebuilt when corrupt.

    `background`: built ahead of need, at a lower CPU priority than the checks.
    """
    compiler = find_compiler()
    store = store or open_store()
    key = build_key(compiler)
    machine = machine_store(store)
    copied: list[Path] = []

    def build(folder: Path) -> dict[str, Any]:
        if machine is None:
            return compile_into(folder)
        try:
            kept, _ = machine.obtain("runner", key, compile_into, label="C++ AOTI runner")
            shutil.copyfile(kept.file(BINARY_NAME), folder / BINARY_NAME)
        finally:
            machine.release()
        os.chmod(folder / BINARY_NAME, 0o755)
        copied.append(machine.root)
        return dict(kept.meta)

    def compile_into(folder: Path) -> dict[str, Any]:
        output = folder / BINARY_NAME
        cmd = compile_command(compiler, SOURCE, output)
        # its own process group: `stop` ends the compiler driver and the cc1plus and ld under it
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        _COMPILING.add(proc)
        hold.register(proc)  # stopped while a latency is measured
        if background:
            lower_priority(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            proc.communicate()
            raise BuildError(f"building the C++ runner took over {timeout_s:.0f}s") from exc
        except BaseException:  # Ctrl-C, a check's timeout: the compiler goes too
            _kill_group(proc)
            raise
        finally:
            _COMPILING.discard(proc)
            hold.unregister(proc)
        if proc.returncode != 0:
            raise BuildError(
                f"building the C++ runner failed (exit {proc.returncode}):\n"
                f"$ {' '.join(cmd)}\n{(err or out)[-4000:]}")
        os.chmod(output, 0o755)
        return {"compiler": compiler}

    entry, use = store.obtain("runner", key, build, label="C++ AOTI runner")
    if copied and use.status != REUSED:
        copy = f"copied from this machine's runners in {copied[0]}: not compiled again"
        use = dataclasses.replace(use, note=f"{use.note}; {copy}" if use.note else copy)
    return RunnerBinary(entry.file(BINARY_NAME), use)
