"""Build the artifacts of a model's other targets in a helper process, while this one compiles.

A model checked on `server-x86-python` and `mobile-android` needs an AOTI package and an
ExecuTorch program from the same exported program. Once the first item has exported it, the
second artifact is built by a helper process on another core, into the store, under the store's
lock; the later item finds it there. Nothing here decides a verdict: if the helper fails, the
item builds the artifact itself and reports the real error.

The helper builds under the key the item computed only if it computes the same key itself (the
same program key, and the same device, versions, environment and configs in its own process);
otherwise it builds nothing. The processes themselves are recorded (and ended) in `helpers`.

    python -m pytest_inferencecheck.checking.prebuild STORE KIND KEY PROGRAM_KEY PROGRAM LABEL OPTIONS
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from pytest_inferencecheck.checking import helpers
from pytest_inferencecheck.checking.facts import weight_bytes
from pytest_inferencecheck.checking.helpers import Ahead
from pytest_inferencecheck.checking.runners.aoti_python import (
    compile_into,
    package_parts,
    stored_package,
)
from pytest_inferencecheck.checking.runners.base import artifact_key
from pytest_inferencecheck.checking.runners.executorch import (
    ExecuTorchRunner,
    _require_executorch,
    lower_into,
    pte_parts,
)
from pytest_inferencecheck.checking.stages import Stages
from pytest_inferencecheck.errors import Uncacheable
from pytest_inferencecheck.recommendations.table import TARGETS
from pytest_inferencecheck.store import open_store
from pytest_inferencecheck.support import compat

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.facts import Facts
    from pytest_inferencecheck.checking.job import Job

MAX_PROGRAM_BYTES = 256 * 2**20  # larger programs are not copied to a helper: memory over speed


def start(job: Job, facts: Facts, targets: tuple[str, ...]) -> list[Ahead]:
    """Start helpers for the entries `targets` will need that this item will not build itself."""
    if (not targets or facts.program is None or facts.program_key is None
            or not facts.export.ok or facts.weight_bytes > MAX_PROGRAM_BYTES):
        return []
    own = job.target.artifact
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for name in targets:
        t = TARGETS.get(name)
        if t is None or t.artifact is None or t.artifact == own:
            continue
        if t.artifact == "executorch":  # Dynamo's breaks do not stop ExecuTorch's export
            stored = ExecuTorchRunner().stored(job, facts)
            wanted[(stored.kind, stored.key)] = {"partitioners": list(
                job.opts.executorch_partitioners)}
        elif t.device == job.device and not facts.graph_breaks:  # AOTI: no break, or no row
            stored = stored_package(job, facts)
            wanted[(stored.kind, stored.key)] = {"device": job.device}
    todo = {k: v for k, v in wanted.items() if k[1] is not None and not helpers.running(*k)
            and not job.store.holds(*k)}
    if not todo or not job.store.persistent:
        return []
    forked = [k for k in todo if k[0] == "executorch" and helpers.can_fork()]
    started = [_fork_lowering(job, facts, key, todo.pop(key)) for key in forked]
    if not todo:
        return started
    program = str(job.store.scratch_file("program", ".pt2"))
    torch.export.save(facts.program, program)
    imports = _spec_modules(facts.program)
    launched = []
    for (kind, key), options in todo.items():
        options = {**options, "imports": imports}
        cmd = [sys.executable, "-m", "pytest_inferencecheck.checking.prebuild", str(job.store.root), kind,
               key, facts.program_key, program, f"{job.name} ({kind})", json.dumps(options)]
        launched.append(helpers.launch(kind, key, cmd))
    helpers.remove_when_done(program, [a.process for a in launched])
    return [*started, *launched]


def _fork_lowering(job: Job, facts: Facts, entry: tuple[str, str], options: dict[str, Any]
                   ) -> Ahead:
    """The `.pte`, lowered by a fork of this process: torch and ExecuTorch are imported already
    (ExecuTorch here, now: the target that needs the `.pte` imports it anyway) and the exported
    program is in memory, so the helper neither imports (6.6 s of CPU here) nor saves and
    loads the program. Its key is this process's by construction: the same state, forked. Only
    ExecuTorch's lowering forks; inductor keeps compile workers a fork could not use."""
    _require_executorch()
    kind, key = entry
    program, root, label = facts.require_program(), job.store.root, f"{job.name} ({kind})"

    def work() -> int:
        torch.set_num_threads(1)  # no OpenMP pool of the parent's in a fork
        store = open_store(Path(root), shared=False)
        store.obtain(kind, key, lambda folder: lower_into(
            program, options["partitioners"], folder, Stages()), label=label,
            size_hint=2 * weight_bytes(program))
        return 0

    return helpers.fork(kind, key, work)


def _spec_modules(program: Any) -> list[str]:
    """Modules defining the pytree types in the program's calling convention (a Hugging Face
    ModelOutput, say): the helper imports them so that the saved program loads."""
    pytree = compat.pytree()

    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if isinstance(kind, str) and "." in kind:
                names.add(kind.rsplit(".", 1)[0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for spec in (program.call_spec.in_spec, program.call_spec.out_spec):
        try:
            walk(json.loads(pytree.treespec_dumps(spec)))
        except Exception:  # noqa: BLE001 - an unserializable spec: the helper may fail, harmlessly
            pass
    return sorted(n for n in names if n != "builtins" and not n.startswith("collections"))


def main(argv: list[str]) -> int:
    """The helper: load the exported program, build one entry into the store (exit 3, and
    nothing built, when this process would key the entry differently)."""
    helpers.release_interrupts()
    root, kind, key, program_key, program_path, label, options_json = argv[:7]
    options = json.loads(options_json)
    try:
        parts = package_parts(options["device"]) if kind == "aoti" else \
            pte_parts(options["partitioners"])
        if artifact_key(kind, program_key, parts) != key:
            return 3
    except Uncacheable:
        return 3
    for module in options.get("imports", []):
        importlib.import_module(module)
    program = torch.export.load(program_path)
    store = open_store(Path(root), shared=False)
    stages = Stages()
    size = 2 * weight_bytes(program)
    if kind == "aoti":
        store.obtain(kind, key, lambda folder: compile_into(program, folder, options["device"]),
                     label=label, size_hint=size)
    elif kind == "executorch":
        store.obtain(kind, key, lambda folder: lower_into(program, options["partitioners"],
                                                          folder, stages), label=label,
                     size_hint=size)
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
