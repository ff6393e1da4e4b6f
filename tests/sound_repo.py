"""The model repository the sound-reuse tests edit: model files on disk, two stores (the one
reused and an empty one per cold run), and the verdict both must reach."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.reporters.text import explain

HELPERS = '''
def under_trace(y):
    return y
'''

CONFIG = '''
import types
CFG = types.SimpleNamespace(debug=False, scale=2.0)
'''

MODEL = '''
import os
import torch
import torch.nn.functional as F
from torch import nn
import sound_config
from sound_helpers import under_trace


class Traced(nn.Module):
    """Calls a helper (in another file) only under tracing: eager never runs it."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = self.lin(x)
        if torch.compiler.is_compiling():
            y = under_trace(y)
        return torch.relu(y)


class Steered(nn.Module):
    """Its trace depends on state no source file holds: environment variables, a config
    object's fields, a function of torch's that a test patches."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = F.gelu(self.lin(x)) * sound_config.CFG.scale
        y = y * float(os.environ.get("SOUND_SCALE", "1"))
        if os.environ.get("SOUND_DEBUG") == "1":
            print("debug: from the environment")
        if sound_config.CFG.debug:
            print("debug: from the config object")
        return y


class Drawn(nn.Module):
    """Draws a random number in forward: its outputs depend on the generator's state."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return self.lin(x) * (torch.rand(()) > 0.5)


class Subnormal(nn.Module):
    """Its values pass through subnormal floats: flush-denormal turns them into zeros."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return (((self.lin(x) * 1e-20) * 1e-20) * 1e20) * 1e20


class Scalar(nn.Module):
    """`.item()`: a graph break unless Dynamo captures scalar outputs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = self.lin(x)
        return y * y.sum().item()
'''

X = (torch.ones(2, 8),)


def verdict(result) -> tuple:
    """Everything the gate and the reports decide from: outcome, row, breaks, export, numerics,
    the stages that failed."""
    rec = result.recommendation
    return (result.outcome, rec.row if rec else None, rec.technology if rec else None,
            sorted((b.type, b.file, b.line) for b in result.graph_breaks or []),
            (result.export.ok, sorted(i.kind for i in result.export.issues))
            if result.export else None,
            result.numerics.ok if result.numerics else None,
            sorted(f.stage for f in result.failures))


def statuses(result, kind: str) -> list[str]:
    return [u.status for u in result.artifacts if u.kind == kind]


class Repo:
    """The model files on disk, importable, editable, and two stores: the one reused, and an
    empty one per cold run (both seeded with the C++ runner when the session has one)."""

    def __init__(self, folder: Path, session_store: Path) -> None:
        self.folder, self.session_store = folder, session_store
        self.warm = self._store("warm")
        self.colds = 0
        for name, text in (("sound_helpers", HELPERS), ("sound_config", CONFIG),
                           ("sound_model", MODEL)):
            (folder / f"{name}.py").write_text(text)
            sys.modules.pop(name, None)
        self.model = importlib.import_module("sound_model")

    def _store(self, name: str) -> Path:
        return self.folder / name  # the C++ runner is the machine's (`cpp_build.runner_store`)

    def check(self, cls: str, target: str, store: Path | None = None, seed: int = 0, **kwargs):
        torch.manual_seed(0)  # the same weights, whatever `seed` the check then runs from
        model = getattr(self.model, cls)()
        torch.manual_seed(seed)
        return check(model, X, target, store=store or self.warm, **kwargs)

    def edit(self, module: str, text: str) -> None:
        """Edit a file and load it again, and the model module that imports from it (as a
        new process would; the model's own file is unchanged)."""
        (self.folder / f"{module}.py").write_text(text)
        importlib.reload(sys.modules[module])
        self.model = importlib.reload(self.model)

    def rerun_and_cold(self, cls: str, target: str, **kwargs):
        """The same check on the reused store, then on an empty one; their verdicts agree."""
        rerun = self.check(cls, target, **kwargs)
        self.colds += 1
        cold = self.check(cls, target, store=self._store(f"cold{self.colds}"), **kwargs)
        assert verdict(rerun) == verdict(cold), f"rerun:\n{explain(rerun)}\ncold:\n{explain(cold)}"
        return rerun, cold


def _replace_vouched_for(path: Path, data: bytes) -> None:
    """Replace a stored file and its line in the entry's manifest, sealed again: every checksum
    passes (a forger who knows the scheme; what else stops the entry is under test)."""
    from pytest_inferencecheck.store.artifacts import MANIFEST
    from pytest_inferencecheck.store.trust import file_sha256, seal

    path.write_bytes(data)
    manifest = path.parent / MANIFEST
    entry = json.loads(manifest.read_text())
    entry["files"][path.name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    manifest.write_text(json.dumps(seal(entry)))


def _verdict_of(d: dict) -> tuple:
    rec = d["recommendation"] or {}
    return (d["outcome"], rec.get("row"), d["numerics"]["ok"] if d["numerics"] else None,
            sorted(f["stage"] for f in d["failures"]))


def two_checks(target: str, model: str, names: tuple[str, str], second_state: str,
               options: str = "") -> str:
    """A test file of two checks of one model in one run, the second after `second_state`
    (`options`: more of the marker's arguments, e.g. `, strict_export=True`)."""
    return "import pytest, torch, sound_config, sound_model\n" + "".join(f'''
@pytest.mark.deploy_target("{target}"{options})
def test_{i}_{name}(inference_check):
    {state or "pass"}
    torch.manual_seed(0)
    inference_check(sound_model.{model}(), (torch.ones(2, 8),), name="{name}")
''' for i, (name, state) in enumerate(zip(names, ("", second_state))))


def run_together(pytester, source: str) -> dict[str, dict]:
    """Run a test file in one pytest run that keeps nothing: each check's result, by name."""
    pytester.makepyfile(sound_helpers=HELPERS, sound_config=CONFIG, sound_model=MODEL,
                        test_together=source)
    pytester.runpytest_subprocess("--inference-check", "--no-inference-check-cache",
                                  "--inference-check-json=r.json", "-p", "no:cacheprovider")
    return {r["identity"]: r for r in
            json.loads((pytester.path / "r.json").read_text())["results"]}
