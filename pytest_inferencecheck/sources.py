"""The source files a model's forward runs, recorded once, so that stored facts can be trusted.

Facts (graph breaks, whether export succeeds) depend on code, not only on weights. While the
eager reference runs, every Python function called is noted with its file, and the plain values
of the module globals it reads (`SCALE = 2` in a config module); a later run reuses the stored
facts only if each of those files still has the same SHA-256 and each global the same value, as
ccache's direct mode does with headers. A module the forward reads a name from
(`config.SCALE`) counts as a source file too, and the plain value the name has. Files of torch, of this package and of the standard
library are covered by their versions and left out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import sysconfig
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

_GENERATED = ("<string>", "<frozen ")  # dataclass and namedtuple methods, frozen stdlib
_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _covered_roots() -> tuple[str, ...]:
    roots = {str(Path(torch.__file__).parent), str(Path(__file__).parent)}
    for name in ("stdlib", "platstdlib"):
        with contextlib.suppress(KeyError):
            roots.add(sysconfig.get_paths()[name])
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots)


_COVERED = _covered_roots()


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    return isinstance(value, tuple) and len(value) <= 64 and all(isinstance(v, _PLAIN)
                                                                   for v in value)


@dataclass
class Sources:
    """What a forward ran: files with their digests, plain globals with their values."""

    files: dict[str, str] = field(default_factory=dict)
    globals: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # why this forward's code cannot be pinned down

    def to_dict(self) -> dict[str, Any]:
        """As stored beside the facts."""
        return {"files": dict(sorted(self.files.items())),
                "globals": dict(sorted(self.globals.items()))}

    @staticmethod
    def changed(recorded: dict[str, Any]) -> str | None:
        """Why recorded sources no longer hold (a file edited, a global changed), or None."""
        for path, sha in (recorded.get("files") or {}).items():
            try:
                now = _file_digest(path)
            except OSError:
                return f"{path} is gone"
            if now != sha:
                return f"{path} changed"
        for name, text in (recorded.get("globals") or {}).items():
            module, _, attr = name.rpartition(".")
            mod = sys.modules.get(module)
            if mod is None or attr not in vars(mod):
                return f"global {name} is not loaded"
            if repr(vars(mod)[attr]) != text:
                return f"global {name} changed"
        return None


def _file_digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@contextlib.contextmanager
def recording() -> Iterator[Sources]:
    """Record the files and plain globals of every Python function called inside."""
    sources = Sources()
    seen: set[Any] = set()
    files: set[str] = set()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        if code in seen:
            return
        seen.add(code)
        filename = code.co_filename
        if filename.startswith(_GENERATED):
            return
        real = os.path.realpath(filename)
        if real.startswith(_COVERED):
            return
        files.add(filename)
        g = frame.f_globals
        for name in code.co_names:
            if name not in g:
                continue
            value = g[name]
            if _plain(value) and "__name__" in g:
                sources.globals[f"{g['__name__']}.{name}"] = repr(value)
            elif isinstance(value, types.ModuleType):  # `config.SCALE`: config.py is a source
                other = getattr(value, "__file__", None)
                if other and not os.path.realpath(other).startswith(_COVERED):
                    files.add(other)
                    attrs = vars(value)  # and so is the value it has now, set at run time or not
                    for attr in code.co_names:
                        if attr in attrs and _plain(attrs[attr]):
                            sources.globals[f"{value.__name__}.{attr}"] = repr(attrs[attr])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield sources
    finally:
        sys.setprofile(previous)
        for filename in sorted(files):
            try:
                sources.files[filename] = _file_digest(filename)
            except OSError:
                sources.problem = (f"code from {filename} has no file to hash (a notebook cell or "
                                   "exec'd code): facts are measured on every run")
                break
