"""Sound reuse under process-wide numeric modes and config objects: the RNG, flush-denormal, a
custom inductor pass with and without `uuid()`, a retry's own build, and where a package is
compiled. Each changes the input for real and compares the rerun with a cold run."""

from __future__ import annotations

import importlib
import os
import sys

import pytest
import torch

from pytest_inferencecheck.reporters.text import explain
from pytest_inferencecheck.support import compat

from sound_repo import (
    _replace_vouched_for,
    _verdict_of,
    run_together,
    statuses,
    two_checks,
)

pytestmark = pytest.mark.slow


# -- process-wide numeric modes and config objects that decide outputs -------------------------
@pytest.mark.parametrize("seeds", [(3, 10), (10, 3)], ids=["pass-then-fail", "fail-then-pass"])
def test_random_draws_in_forward_are_run_again_and_the_rerun_matches_cold(repo, seeds):
    # The recorded run was replayed under another seed: the rerun took A's outcome, not B's.
    first = repo.check("Drawn", "server-x86-python", seed=seeds[0])
    rerun, cold = repo.rerun_and_cold("Drawn", "server-x86-python", seed=seeds[1])
    assert first.outcome != cold.outcome  # the seed really decides this check
    assert statuses(rerun, "aoti") == ["reused"]  # the package draws at run time: it is kept
    assert statuses(rerun, "run") == [] and any("draws random numbers" in n for n in rerun.notes)


@pytest.fixture
def flushing():
    """`flushing(on)`: torch.set_flush_denormal for this test, put back after it."""
    before = compat.flush_denormal()
    yield lambda on: torch.set_flush_denormal(on) or pytest.skip("this CPU cannot flush")
    torch.set_flush_denormal(before)


def test_flush_denormal_is_keyed_and_the_rerun_matches_cold(repo, flushing):
    flushing(False)
    first = repo.check("Subnormal", "server-x86-python")
    assert first.outcome == "passed", explain(first)
    flushing(True)
    rerun, cold = repo.rerun_and_cold("Subnormal", "server-x86-python")
    assert cold.outcome == "passed", explain(cold)
    assert statuses(rerun, "aoti") == ["built"] and statuses(rerun, "run") == ["built"]


def test_flush_denormal_set_by_a_later_test_of_the_same_run_is_keyed(pytester, repo, flushing):
    together = run_together(pytester, two_checks("server-x86-python", "Subnormal",
                                                 ("plain", "flushing"),
                                                 "torch.set_flush_denormal(True)"))
    flushing(True)  # the second check alone, cold, in a store of its own
    alone = repo.check("Subnormal", "server-x86-python", repo.folder / "alone").to_dict()
    assert _verdict_of(together["flushing"]) == _verdict_of(alone)
    assert together["plain"]["outcome"] == alone["outcome"] == "passed"


PASS = '''
import dataclasses
import torch


@dataclasses.dataclass
class Rewrite:
    """A post-grad pass; its repr is "Rewrite()" whatever its code does."""

    def __call__(self, graph):
        pass
'''

ABS_FOR_RELU = '''
        for node in graph.nodes:
            if node.target is torch.ops.aten.relu.default:
                node.target = torch.ops.aten.abs.default
'''


def _pass_module(repo, body: str = "        pass\n", uuid: str | None = None):
    text = PASS.replace("        pass\n", body)
    if uuid is not None:
        text = text.replace("@dataclasses.dataclass\nclass Rewrite:",
                            "from torch._inductor.custom_graph_pass import CustomGraphPass\n\n\n"
                            "class Rewrite(CustomGraphPass):")
        text += f"\n    def uuid(self):\n        return {uuid!r}\n"
    (repo.folder / "sound_pass.py").write_text(text)
    sys.modules.pop("sound_pass", None)
    return importlib.import_module("sound_pass").Rewrite()


def test_a_custom_pass_torch_cannot_key_keeps_nothing_and_the_rerun_matches_cold(repo,
                                                                                configured):
    # Its repr is all torch's config hash saw: the edited pass reused the package built before.
    configured(torch._inductor.config, post_grad_custom_post_pass=_pass_module(repo))
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed", explain(first)
    assert statuses(first, "aoti") == [] and statuses(first, "run") == []
    detail = next(s.detail for s in first.stages if s.name == "aoti_compile")
    assert "not kept" in detail and "post_grad_custom_post_pass" in detail and "uuid" in detail
    configured(torch._inductor.config,
               post_grad_custom_post_pass=_pass_module(repo, ABS_FOR_RELU))
    rerun, cold = repo.rerun_and_cold("Traced", "server-x86-python")
    assert cold.outcome == "failed" and cold.failures[0].stage == "compare"
    assert not list(repo.warm.glob("v1/entries/aoti/*"))


def test_a_custom_pass_with_a_uuid_is_keyed_by_it(repo, configured):
    configured(torch._inductor.config, post_grad_custom_post_pass=_pass_module(repo, uuid="v1"))
    first = repo.check("Traced", "server-x86-python")
    assert first.outcome == "passed" and statuses(first, "aoti") == ["built"], explain(first)
    configured(torch._inductor.config,
               post_grad_custom_post_pass=_pass_module(repo, uuid="v1"))  # a new object, same id
    assert statuses(repo.check("Traced", "server-x86-python"), "aoti") == ["reused"]
    configured(torch._inductor.config,
               post_grad_custom_post_pass=_pass_module(repo, ABS_FOR_RELU, uuid="v2"))
    rerun, cold = repo.rerun_and_cold("Traced", "server-x86-python")
    assert cold.outcome == "failed" and statuses(rerun, "aoti") == ["built"]


def test_a_package_built_before_a_reused_runner_failed_is_labelled_built(repo):
    # The first try built the .pt2 and reused a runner that fails; the retry found that .pt2 in
    # the store, and the check listed the package it had just built as reused.
    from pytest_inferencecheck.host.cpp_build import ensure_runner
    from pytest_inferencecheck.store import open_store

    ensure_runner(open_store(repo.warm, shared=False))  # the machine's runner, in this store
    (runner,) = [p for p in repo.warm.glob("v1/entries/runner/*/*")
                 if p.name != "manifest.json"]
    _replace_vouched_for(runner, b"#!/bin/sh\nexit 1\n")
    result = repo.check("Traced", "server-x86-cpp")
    assert result.outcome == "passed", explain(result)
    assert any("discarded and built again" in n for n in result.notes)
    assert statuses(result, "aoti") == ["built"] and statuses(result, "runner") == ["built"]
    detail = next(s.detail for s in result.stages if s.name == "aoti_compile")
    assert "reused" not in detail, detail


def test_a_package_is_compiled_in_a_cache_directory_no_other_process_writes(tmp_path,
                                                                           monkeypatch):
    # AOTInductor zips a package's metadata JSON after releasing its file lock: another process
    # compiling the same graph in the same (shared, default) inductor directory truncated it in
    # between, and the C++ runner failed on an empty JSON file (the shuffled, loaded CI run).
    from pytest_inferencecheck.checking.runners.aoti_python import PACKAGE, compile_into

    shared = tmp_path / "shared-inductor-cache"  # what every process of this user would use
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(shared))
    program = torch.export.export(torch.nn.Linear(4, 4), (torch.ones(2, 4),))
    (tmp_path / "entry").mkdir()
    compile_into(program, tmp_path / "entry", "cpu")
    assert (tmp_path / "entry" / PACKAGE).stat().st_size > 0
    # written only in a folder of this process's own inside it (the user chose where)
    written = [p.relative_to(shared) for p in shared.rglob("*") if p.is_file()]
    assert written and {p.parts[0] for p in written} == {
        next(p.name for p in shared.iterdir() if p.name.startswith(f"inferencecheck-{os.getpid()}-"))
    }, written[:5]
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(shared)  # put back after the compile
