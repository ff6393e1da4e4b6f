"""The artifact store on its own: reuse, checksums, locks, faults of the disk, pruning, the CLI.

Every fault here is real: bytes flipped on disk, a tmpfs that is full or mounted read-only, two
processes racing for one key, a builder killed with SIGKILL in the middle of a write.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pytest_inferencecheck.store.artifacts import LAYOUT, MANIFEST, ArtifactStore
from pytest_inferencecheck.support.sizes import parse_size

from filesystems import full_disk, read_only


def _writer(payload: bytes = b"artifact" * 1000, meta: dict | None = None):
    calls = []

    def build(folder):
        calls.append(folder)
        (folder / "model.bin").write_bytes(payload)
        return meta or {"made": True}

    build.calls = calls
    return build


def test_built_once_then_reused_with_its_metadata(tmp_path):
    store = ArtifactStore(tmp_path / "s")
    build = _writer()
    entry, use = store.obtain("aoti", "k" * 32, build, label="cnn (aoti)")
    assert use.status == "built" and use.note is None and use.bytes == 8000
    again, use2 = store.obtain("aoti", "k" * 32, build)
    assert use2.status == "reused" and len(build.calls) == 1
    assert again.meta == {"made": True} and again.file("model.bin").read_bytes() == b"artifact" * 1000
    (info,) = store.entries()
    assert (info.kind, info.key, info.bytes, info.label) == ("aoti", "k" * 32, 8000, "cnn (aoti)")
    assert (tmp_path / "s" / "CACHEDIR.TAG").exists()
    assert list((tmp_path / "s" / LAYOUT / "tmp").iterdir()) == []  # nothing left behind


@pytest.mark.parametrize("damage, why", [
    (lambda e: e.file("model.bin").write_bytes(b"x" * 8000), "fails its SHA-256 checksum"),
    (lambda e: e.file("model.bin").write_bytes(b"artifact"), "is 8 bytes where 8000 were written"),
    (lambda e: e.file("model.bin").unlink(), "model.bin is missing"),
    (lambda e: (e.path / MANIFEST).write_text("{not json"), "not a valid manifest"),
    (lambda e: (e.path / MANIFEST).write_text(json.dumps(
        {**json.loads((e.path / MANIFEST).read_text()), "key": "other"})), "not a valid manifest"),
    (lambda e: (e.path / MANIFEST).unlink(), "has no manifest"),
    # issue 33: one digit of the meta a verdict reads (ExecuTorch's delegation share) edited
    (lambda e: (e.path / MANIFEST).write_text((e.path / MANIFEST).read_text().replace(
        '"delegation": 0.75', '"delegation": 0.15')), "fails its own checksum"),
])
def test_a_damaged_or_foreign_entry_is_rebuilt_and_says_why(tmp_path, damage, why):
    store = ArtifactStore(tmp_path)
    build = _writer(meta={"delegation": 0.75})
    entry, _ = store.obtain("executorch", "a" * 32, build)
    store.release()
    damage(entry)
    assert store.lookup("executorch", "a" * 32) is None  # never handed out unchecked
    entry, use = store.obtain("executorch", "a" * 32, build)
    assert use.status == "rebuilt" and why in use.note and len(build.calls) == 2
    assert entry.file("model.bin").read_bytes() == b"artifact" * 1000
    assert store.obtain("executorch", "a" * 32, build)[1].status == "reused"


def test_a_stale_entry_rejected_by_its_reader_is_replaced(tmp_path):
    store = ArtifactStore(tmp_path)
    store.obtain("run", "f" * 32, _writer(meta={"v": 1}))
    entry, use = store.obtain("run", "f" * 32, _writer(meta={"v": 2}),
                              accept=lambda e: "a run of other bytes" if e.meta["v"] == 1 else None)
    assert use.status == "rebuilt" and "other bytes" in use.note and entry.meta == {"v": 2}


def test_a_cache_directory_that_is_a_file_degrades_to_a_temporary_store(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    store = ArtifactStore(blocker)
    assert not store.persistent and "cannot be written" in store.note and str(blocker) in store.note
    entry, use = store.obtain("aoti", "b" * 32, _writer())
    assert use.status == "built" and "not kept after this run" in use.note
    assert entry.file("model.bin").exists() and blocker.read_text() == "not a directory"


def test_a_read_only_store_still_serves_its_entries_and_builds_elsewhere(tmp_path):
    seed = ArtifactStore(tmp_path / "seed")
    seed.obtain("aoti", "c" * 32, _writer())
    with read_only(tmp_path / "ro", populate=tmp_path / "seed") as ro:
        store = ArtifactStore(ro)
        assert not store.persistent and "cannot be written" in store.note
        build = _writer()
        entry, use = store.obtain("aoti", "c" * 32, build)
        assert use.status == "reused" and build.calls == []  # read from the read-only store
        _, use2 = store.obtain("aoti", "d" * 32, build)
        assert use2.status == "built" and "not kept" in use2.note


def test_a_disk_without_room_for_a_build_is_not_written_to(tmp_path):
    # torch's package writer aborts the process when a write fails, so room is checked first
    with full_disk(tmp_path / "tiny", "256k") as tiny:
        store = ArtifactStore(tiny)
        assert store.persistent  # there was room when it was opened
        build = _writer(payload=os.urandom(1 << 20))
        entry, use = store.obtain("aoti", "e" * 32, build, size_hint=1 << 20)
        assert use.status == "built" and "No space left on device" in use.note
        assert "free in" in use.note and "needed" in use.note
        assert entry.file("model.bin").stat().st_size == 1 << 20
        assert not str(entry.path).startswith(str(tiny)) and len(build.calls) == 1
        # the next entry goes straight to the temporary store
        assert store.obtain("aoti", "f" * 32, _writer())[0].path.exists()


def test_a_disk_that_fills_up_during_a_build_degrades_with_a_note(tmp_path):
    with full_disk(tmp_path / "small", "40m") as small:
        store = ArtifactStore(small)
        big = _writer(payload=b"\1" * (48 << 20))  # says nothing of its size, and is too big
        entry, use = store.obtain("aoti", "e" * 32, big)
        assert use.status == "built" and "No space left on device" in use.note
        assert entry.file("model.bin").stat().st_size == 48 << 20
        assert not str(entry.path).startswith(str(small)) and len(big.calls) == 2
        assert list((small / LAYOUT / "tmp").iterdir()) == []  # the half-written build is gone


_RACER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from pytest_inferencecheck.store.artifacts import ArtifactStore
    root, count, key = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    def build(folder):
        with open(count, "a") as handle:
            handle.write("built\\n")
        (folder / "model.bin").write_bytes(b"x" * 100)
        time.sleep(1.5)  # long enough for the other process to arrive and wait
        return {}
    entry, use = ArtifactStore(root).obtain("aoti", key, build)
    print(use.status, entry.file("model.bin").read_bytes() == b"x" * 100)
''')


def test_two_processes_needing_one_key_build_it_once(tmp_path):
    count = tmp_path / "count"
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(tmp_path / "s"), str(count),
                               "g" * 32], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outs == ["built True", "reused True"]
    assert count.read_text() == "built\n"


_INTERRUPTED = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from pytest_inferencecheck.store.artifacts import ArtifactStore
    store = ArtifactStore(Path(sys.argv[1]))
    store.scratch_file("program", ".pt2").write_bytes(b"a program for a helper")
    def build(folder):
        with open(folder / "model.bin", "wb") as handle:
            handle.write(b"half")
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
        return {}
    store.obtain("runner", sys.argv[2], build)
''')


def test_a_run_killed_mid_write_leaves_a_usable_store_and_its_scratch_is_removed(tmp_path):
    root = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPTED, str(root), "h" * 32],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    scratch = sorted(p.name.split("-")[0] for p in (root / LAYOUT / "tmp").iterdir())
    assert scratch == ["program", "runner"]  # what a killed run leaves behind
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    store = ArtifactStore(root)
    # the next run removes it when it opens the store, whether or not it builds anything
    assert list((root / LAYOUT / "tmp").iterdir()) == []
    assert store.lookup("runner", "h" * 32) is None  # no half entry was ever published
    build = _writer()
    entry, use = store.obtain("runner", "h" * 32, build)  # the dead builder's lock is gone
    assert use.status == "built" and entry.file("model.bin").read_bytes() == b"artifact" * 1000


def test_scratch_counts_against_the_cap(tmp_path):
    store = ArtifactStore(tmp_path, max_bytes=10**9)
    for i, key in enumerate(("1" * 32, "2" * 32)):
        store.obtain("aoti", key, _writer(payload=b"z" * 6000))
        os.utime(tmp_path / LAYOUT / "entries" / "aoti" / key / MANIFEST, (1000 + i, 1000 + i))
    store.release()
    store.scratch_file("program", ".pt2").write_bytes(b"p" * 6000)  # a live helper's program
    removed = store.prune(14_000)  # the entries alone (about 12 KB) fit; with scratch they do not
    assert [e.key[0] for e in removed] == ["1"]


_TRY_DISCARD = textwrap.dedent('''
    import sys
    from pathlib import Path
    from pytest_inferencecheck.store.artifacts import ArtifactStore
    print(ArtifactStore(Path(sys.argv[1])).discard("aoti", sys.argv[2]))
''')


def test_asking_whether_the_store_holds_an_entry_keeps_every_pin(tmp_path):
    store = ArtifactStore(tmp_path)
    store.obtain("aoti", "a" * 32, _writer())
    store.obtain("executorch", "b" * 32, _writer())
    store.release()
    assert store.lookup("aoti", "a" * 32) is not None  # a check is using this package
    assert store.holds("executorch", "b" * 32) and store.holds("aoti", "a" * 32)
    assert not store.holds("executorch", "c" * 32)
    # another process (an xdist worker pruning) still cannot remove what the check uses...
    out = subprocess.run([sys.executable, "-c", _TRY_DISCARD, str(tmp_path), "a" * 32],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
    # ...and nothing else was pinned along the way
    out = subprocess.run([sys.executable, "-c", _TRY_DISCARD.replace("aoti", "executorch"),
                          str(tmp_path), "b" * 32], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
    store.release()


_HOLDER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from pytest_inferencecheck.store.artifacts import ArtifactStore
    store = ArtifactStore(Path(sys.argv[1]))
    assert store.lookup("aoti", sys.argv[2]) is not None
    print("holding", flush=True)
    time.sleep(60)
''')


def test_prune_removes_least_recently_used_first_and_skips_entries_in_use(tmp_path):
    store = ArtifactStore(tmp_path, max_bytes=10**9)
    for i, key in enumerate(("1" * 32, "2" * 32, "3" * 32)):
        store.obtain("aoti", key, _writer(payload=b"z" * 1000))
        os.utime(tmp_path / LAYOUT / "entries" / "aoti" / key / MANIFEST, (1000 + i, 1000 + i))
    store.release()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path), "1" * 32],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        removed = store.prune(1500)
        # the oldest ("1") is in use by the other process: the next oldest go instead
        assert [e.key[0] for e in removed] == ["2", "3"]
        assert [e.key[0] for e in store.entries()] == ["1"]
    finally:
        holder.kill()
        holder.wait()
    assert [e.key[0] for e in store.prune(0)] == ["1"]
    assert store.size() == 0


def test_every_build_keeps_the_store_under_its_cap(tmp_path):
    store = ArtifactStore(tmp_path, max_bytes=2500)
    for i in range(5):
        store.obtain("run", str(i) * 32, _writer(payload=b"y" * 1000))
        store.release()
        time.sleep(0.01)
    assert store.size() <= 2500
    assert {e.key[0] for e in store.entries()} == {"3", "4"}  # the newest survive


@pytest.mark.parametrize("text, size", [("5G", 5 * 2**30), ("500m", 500 * 2**20), ("2GiB", 2 * 2**30),
                                        ("1.5K", 1536), ("1048576", 2**20), (4096, 4096)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "nanG", True])
def test_parse_size_rejects_what_is_not_a_size(text):
    with pytest.raises(ValueError):
        parse_size(text)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "cache", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_the_cache_command_shows_prunes_and_clears(tmp_path):
    store = ArtifactStore(tmp_path)
    for key in ("1" * 32, "2" * 32):
        store.obtain("aoti", key, _writer(payload=b"q" * 2048), label=f"model-{key[0]}")
    store.release()
    shown = _cli("--cache-dir", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert "2 entries, 4.0 KiB" in shown.stdout and "model-1" in shown.stdout
    as_json = json.loads(_cli("show", "--format", "json", env={
        "INFERENCECHECK_CACHE_DIR": str(tmp_path)}).stdout)
    assert as_json["bytes"] == 4096 and len(as_json["entries"]) == 2
    pruned = _cli("prune", "--cache-dir", str(tmp_path), "--max-size", "3K")
    assert pruned.returncode == 0 and "removed 1 entry" in pruned.stdout
    cleared = _cli("clear", "--cache-dir", str(tmp_path))
    assert cleared.returncode == 0 and "removed 1 entry" in cleared.stdout
    assert store.entries() == []
    bad = _cli("prune", "--cache-dir", str(tmp_path), "--max-size", "lots")
    assert bad.returncode == 2 and "--max-size" in bad.stderr and "Traceback" not in bad.stderr


def test_the_cache_command_never_makes_a_store_and_lists_without_writing(tmp_path):
    # Issue 31: `cache show --cache-dir <mistyped path>` made a store there ('' made one in the
    # current folder), and a store that cannot be written could not be listed.
    typo = tmp_path / "no-such-store"
    for action in ("show", "prune", "clear"):
        out = _cli(action, "--cache-dir", str(typo))
        assert out.returncode == 2 and f"no artifact store at {typo}" in out.stderr
        assert not typo.exists()
    empty = _cli("show", "--cache-dir", "")
    assert empty.returncode == 2 and "--cache-dir is empty" in empty.stderr
    nothing_yet = _cli("show", env={"INFERENCECHECK_CACHE_DIR": str(tmp_path / "default")})
    assert nothing_yet.returncode == 0 and "0 entries (nothing has been cached there yet)" \
        in nothing_yet.stdout
    assert not (tmp_path / "default").exists()
    store = ArtifactStore(tmp_path / "s")
    store.obtain("aoti", "3" * 32, _writer(payload=b"q" * 1024), label="model-3")
    store.release()
    for made in ("CACHEDIR.TAG", "v1/locks", "v1/tmp"):  # what opening a store for writing makes
        path = tmp_path / "s" / made
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    before = sorted(str(p) for p in (tmp_path / "s").rglob("*"))
    shown = _cli("show", "--cache-dir", str(tmp_path / "s"))
    assert shown.returncode == 0 and "1 entry," in shown.stdout and "model-3" in shown.stdout
    assert sorted(str(p) for p in (tmp_path / "s").rglob("*")) == before  # nothing written
