"""Row 3: AOTInductor from Python: exported program -> `.pt2` package -> `aoti_load_package`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..quiet import quiet_torch
from ..stages import Stages
from .base import Context


def compile_package(ctx: Context, stages: Stages) -> Path:
    """AOT-compile the already exported program once; later runners reuse the `.pt2`."""
    if "pt2" in ctx.artifacts:
        return ctx.artifacts["pt2"]
    if ctx.program is None:
        raise RuntimeError("no exported program: export must succeed before AOT compilation")
    path = ctx.workdir / "model.pt2"
    with stages.stage("aoti_compile") as st, quiet_torch():
        torch._inductor.aoti_compile_and_package(ctx.program, package_path=str(path))
        st.detail = f"{path.stat().st_size} bytes"
    ctx.artifacts["pt2"] = path
    return path


class AOTIPythonRunner:
    """Compiles with `aoti_compile_and_package` and loads with `aoti_load_package`."""

    technology = "aoti-python"

    def build(self, ctx: Context, stages: Stages) -> Callable[..., Any]:
        """Return the loaded package, called like the model."""
        path = compile_package(ctx, stages)
        with stages.stage("aoti_load"), quiet_torch():
            return torch._inductor.aoti_load_package(str(path))
