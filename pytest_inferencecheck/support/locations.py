"""Where code lives: the user's own files versus libraries (torch, transformers, stdlib, us)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sysconfig
from dataclasses import dataclass
from functools import lru_cache

_RESUME = re.compile(r"^torch_dynamo_resume_in_(?P<name>.+)_at_\d+$")


@dataclass(frozen=True)
class Location:
    """A frame: file, line, function, and whether it is the user's own code."""

    file: str
    line: int
    function: str
    user_code: bool

    def __str__(self) -> str:
        return f"{display_path(self.file)}:{self.line} in {self.function}"


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this package
    # an editable or source checkout of torch is still a library, not the user's code; found
    # without importing it (the linter and the reporters use this module and never load torch)
    spec = importlib.util.find_spec("torch")
    if spec is not None and spec.submodule_search_locations:
        roots.update(os.path.abspath(p) for p in spec.submodule_search_locations)
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


def is_user_file(filename: str) -> bool:
    """True for a real source file outside the standard library, site-packages, torch and us."""
    if not filename or filename.startswith("<") or not filename.endswith(".py"):
        return False
    real = os.path.realpath(filename)
    return not any(real.startswith(root) for root in _library_roots())


def clean_function_name(name: str) -> str:
    """Map Dynamo's resume functions (`torch_dynamo_resume_in_forward_at_9`) back to `forward`."""
    m = _RESUME.match(name)
    return clean_function_name(m.group("name")) if m else name


def display_path(filename: str) -> str:
    """A path relative to the working directory where that is shorter, as users expect to see it."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return rel if not rel.startswith("..") else filename


def locate(frames: list[tuple[str, int, str]]) -> tuple[Location | None, Location | None]:
    """Split a stack (outermost first) into (innermost user frame, innermost frame if a library's).

    The first is where the user should look; the second, when set, says the event itself
    happened in library code (e.g. inside `transformers`) below that user line.
    """
    if not frames:
        return None, None
    located = [Location(f, int(n), clean_function_name(fn), is_user_file(f)) for f, n, fn in frames]
    innermost = located[-1]
    user = next((loc for loc in reversed(located) if loc.user_code), None)
    if innermost.user_code:
        return innermost, None
    return user, innermost


def forward_location(model: object) -> Location | None:
    """Where the model's `forward` is defined, if that is the user's own code."""

    forward = getattr(type(model), "forward", None)
    try:
        file = inspect.getsourcefile(forward)  # type: ignore[arg-type]
        line = inspect.getsourcelines(forward)[1]  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
    if not file or not is_user_file(file):
        return None
    return Location(file, line, "forward", True)
