"""A store another user can write is never read (issue 33, item 1): ssh's StrictModes for the
store. Ownership is set for real with `chown` to a uid that is not ours (root only: elsewhere
these skip, saying why); a kernel records ownership as a number, so the uid needs no account."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

from pytest_inferencecheck.result import REBUILT
from pytest_inferencecheck.store.artifacts import LAYOUT, MANIFEST, ArtifactStore
from pytest_inferencecheck.store.trust import seal

STRANGER = 4242
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


def _build(calls: list):
    def build(folder):
        calls.append(folder)
        (folder / "runner").write_bytes(b"\x7fELF pretend")
        return {"made": True}
    return build


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@as_root
def test_a_store_another_user_owns_is_not_read_and_nothing_is_written_there(tmp_path):
    root = tmp_path / "shared"
    calls: list = []
    ArtifactStore(root).obtain("runner", "k" * 64, _build(calls))
    os.chown(root, STRANGER, STRANGER)
    os.chmod(root, 0o777)  # the store: another user's, open to everyone
    before = _tree(root)
    store = ArtifactStore(root)
    assert not store.persistent and store.root != root
    assert "is not read" in store.note and f"uid {STRANGER}" in store.note
    assert store.lookup("runner", "k" * 64) is None  # never loaded from there
    entry, use = store.obtain("runner", "k" * 64, _build(calls))
    assert len(calls) == 2 and entry.path.is_relative_to(store.root)
    assert _tree(root) == before  # nothing written into the foreign store


def test_a_store_its_group_can_write_is_not_read(tmp_path):
    root = tmp_path / "s"
    ArtifactStore(root).obtain("runner", "k" * 64, _build([]))
    os.chmod(root / LAYOUT / "entries", 0o775)
    store = ArtifactStore(root)
    assert not store.persistent and "writable by its group or others (mode 775)" in store.note


@as_root
def test_an_entry_another_user_wrote_is_built_again_and_the_use_says_why(tmp_path):
    root = tmp_path / "s"
    calls: list = []
    ArtifactStore(root).obtain("runner", "k" * 64, _build(calls))
    planted = root / LAYOUT / "entries" / "runner" / ("k" * 64) / "runner"
    os.chown(planted, STRANGER, STRANGER)  # its bytes and the manifest still match
    store = ArtifactStore(root)
    assert store.persistent and store.note is None  # the store itself is ours
    entry, use = store.obtain("runner", "k" * 64, _build(calls))
    assert len(calls) == 2 and use.status == REBUILT
    assert f"another user could have written it ({planted} belongs to uid {STRANGER})" in use.note
    assert entry.file("runner").stat().st_uid == os.geteuid()


def test_a_symlink_in_an_entry_is_never_followed(tmp_path):
    root = tmp_path / "s"
    calls: list = []
    ArtifactStore(root).obtain("runner", "k" * 64, _build(calls))
    entry = root / LAYOUT / "entries" / "runner" / ("k" * 64)
    elsewhere = tmp_path / "elsewhere"
    os.replace(entry / "runner", elsewhere)
    os.symlink(elsewhere, entry / "runner")  # same bytes, same manifest, another file
    _, use = ArtifactStore(root).obtain("runner", "k" * 64, _build(calls))
    assert len(calls) == 2 and use.status == REBUILT and "symbolic link" in use.note


def test_a_store_written_under_a_group_writable_umask_is_still_ours(tmp_path):
    """Ubuntu gives users umask 002: a store written under it must not refuse itself."""
    root = tmp_path / "s"
    subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os
        os.umask(0o002)
        from pathlib import Path
        from pytest_inferencecheck.store.artifacts import ArtifactStore
        def build(folder):
            (folder / "runner").write_bytes(b"x")
        ArtifactStore(Path({str(root)!r})).obtain("runner", "k" * 64, build)
    """)], check=True, timeout=120)
    loose = [(str(p), oct(stat.S_IMODE(p.stat().st_mode))) for p in [root, *root.rglob("*")]
             if "locks" not in p.parts and p.stat().st_mode & 0o022]
    assert loose == []  # (a lock file carries no content: its mode decides nothing)
    calls: list = []
    store = ArtifactStore(root)
    assert store.persistent and store.note is None
    _, use = store.obtain("runner", "k" * 64, _build(calls))
    assert calls == [] and use.status == "reused"
    assert (root / LAYOUT / "entries" / "runner" / ("k" * 64) / MANIFEST).exists()


@as_root
@pytest.mark.slow
def test_a_runner_planted_by_another_user_is_never_run(fresh_store, tmp_path):
    """The issue's attack, for real: another user replaces the C++ runner of a store entry with
    a program of their own and rewrites the manifest to match. The next check must not run it
    (before the fix it ran, as this process's user, before the check noticed anything)."""
    import hashlib
    import json

    import torch

    from pytest_inferencecheck import check
    from pytest_inferencecheck.host.cpp_build import BINARY_NAME

    import models

    def cnn():
        torch.manual_seed(0)
        return check(models.SmallCNN(), models.cnn_inputs(), "server-x86-cpp", store=fresh_store)

    first = cnn()
    assert first.outcome == "passed", first.notes
    (folder,) = (fresh_store / LAYOUT / "entries" / "runner").iterdir()
    canary = tmp_path / "the-planted-program-ran"
    program = f"#!/bin/sh\ntouch {canary}\nexit 0\n".encode()
    (folder / BINARY_NAME).write_bytes(program)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][BINARY_NAME] = {"bytes": len(program),
                                      "sha256": hashlib.sha256(program).hexdigest()}
    (folder / MANIFEST).write_text(json.dumps(seal(manifest)))  # it knows the scheme
    for path in (folder, *folder.iterdir()):
        os.chown(path, STRANGER, STRANGER)
    shutil.rmtree(fresh_store / LAYOUT / "entries" / "run")  # a run not recorded yet: it runs
    again = cnn()
    assert not canary.exists()
    assert again.outcome == "passed" and again.numerics.ok
    (runner,) = [u for u in again.artifacts if u.kind == "runner"]
    assert runner.status == REBUILT and "another user could have written it" in runner.note
