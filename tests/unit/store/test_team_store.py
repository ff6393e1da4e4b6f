"""The team store (issue 33): the store's read-through and write-back against a real S3 server
(moto, in this process, real HTTP), with real Ed25519 keys. What reaches a check is tested in
tests/e2e/test_team_machines.py; here each rule of the protocol, one at a time, fast."""

from __future__ import annotations

import json
import threading
import time

import pytest
from team_store import Faults, FaultyProxy, env_for, keypair, s3_server

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.result import BUILT, FETCHED, REUSED
from pytest_inferencecheck.store import open_store
from pytest_inferencecheck.store.remote import RemoteSpec, blob_path, entry_path
from pytest_inferencecheck.store.signing import generate

KEY = "k" * 32


@pytest.fixture
def s3(monkeypatch):
    with s3_server() as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def writer(tmp_path):
    return keypair(tmp_path)


def _store(root, url, *, key=None, trusted=(), timeout=5.0):
    return open_store(root, shared=False, remote=RemoteSpec(
        url, write=key is not None, trusted_keys=tuple(trusted),
        signing_key=str(key) if key else None, timeout_s=timeout))


def _builder(calls, payload=b"\x7fELF the model's package" * 100, meta=None):
    def build(folder):
        calls.append(folder)
        (folder / "model.pt2").write_bytes(payload)
        runner = folder / "runner"
        runner.write_bytes(b"#!/bin/sh\nexit 0\n")
        runner.chmod(0o755)
        return meta or {"delegated": 1.0}
    return build


def _finishes(work, deadline_s: float = 120.0):
    """Run `work` on a thread and wait for it to end: the deadline only turns a hang (a request
    that waits on a stalled server) into a failure, far above any timeout the code sets."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    thread.join(deadline_s)
    assert not thread.is_alive(), "it waited on the stalled server instead of its own timeout"
    return out[0]


def _publish(tmp_path, s3, writer, key=KEY, **kw):
    calls: list = []
    store = _store(tmp_path / "a", s3.url(), key=writer[0])
    entry, use = store.obtain("aoti", key, _builder(calls, **kw), label="m")
    assert use.status == BUILT and use.published is not None and calls  # (blobs it has: not sent)
    return entry


def test_a_second_machine_fetches_the_first_ones_entry_and_a_reader_writes_nothing(
        tmp_path, s3, writer):
    built = _publish(tmp_path, s3, writer)
    before = s3.keys()
    assert f"ic/{entry_path('aoti', KEY)}" in before and len(before) == 3  # 2 blobs, 1 manifest
    calls: list = []
    reader = _store(tmp_path / "b", s3.url(), trusted=[writer[1]])
    entry, use = reader.obtain("aoti", KEY, _builder(calls), label="m")
    assert use.status == FETCHED and not calls and use.published is None
    assert entry.meta == built.meta and entry.files == built.files
    assert (entry.path / "runner").stat().st_mode & 0o111  # a program stays one
    assert reader.remote.traffic.fetched_bytes == built.bytes
    again, use = reader.obtain("aoti", KEY, _builder(calls), label="m")
    assert use.status == REUSED and not calls  # the local tier now has it
    assert s3.keys() == before  # the reader wrote nothing


def _forge(s3, writer, tmp_path, how):
    """Tamper with the published entry as someone with write access to the bucket would."""
    path = f"ic/{entry_path('aoti', KEY)}"
    envelope = json.loads(s3.get(path))
    manifest = envelope["manifest"]
    if how == "another key's entry":
        other = json.loads(s3.get(f"ic/{entry_path('aoti', 'o' * 32)}"))
        s3.put(path, json.dumps(other).encode())
    elif how == "blob swapped":
        digest = manifest["files"]["model.pt2"]["sha256"]
        s3.put(f"ic/{blob_path(digest)}", b"\x7fELF an attacker's package" * 100)
    elif how == "meta edited":
        manifest["meta"]["delegated"] = 0.167
        s3.put(path, json.dumps(envelope).encode())
    elif how == "signed by an untrusted key":
        from pytest_inferencecheck.store.signing import load_signing_key

        stranger = load_signing_key(generate()[0], "the test")
        s3.put(path, json.dumps(stranger.sign(manifest)).encode())
    elif how == "unsigned":
        s3.put(path, json.dumps({"manifest": manifest}).encode())
    elif how == "blob missing (a partial upload)":
        import boto3

        boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1").delete_object(
            Bucket="team", Key=f"ic/{blob_path(manifest['files']['model.pt2']['sha256'])}")


@pytest.mark.parametrize("how", ["another key's entry", "blob swapped", "meta edited",
                                 "signed by an untrusted key", "unsigned",
                                 "blob missing (a partial upload)"])
def test_a_forged_or_damaged_entry_is_never_loaded_and_is_built_here(tmp_path, s3, writer, how):
    _publish(tmp_path, s3, writer)
    _publish(tmp_path, s3, writer, key="o" * 32, payload=b"other" * 10, meta={"delegated": 0.5})
    _forge(s3, writer, tmp_path, how)
    calls: list = []
    reader = _store(tmp_path / "b", s3.url(), trusted=[writer[1]])
    entry, use = reader.obtain("aoti", KEY, _builder(calls), label="m")
    assert use.status == BUILT and len(calls) == 1, use  # built here, from the model
    assert "was not loaded" in use.note and reader.notes == [use.note]
    assert entry.meta == {"delegated": 1.0}
    assert (entry.path / "model.pt2").read_bytes().startswith(b"\x7fELF the model's")
    assert reader.remote.down is None  # a bad entry is not a bad remote: the run reads on


def test_two_writers_of_one_key_never_clobber_each_other(tmp_path, s3, writer):
    first = _publish(tmp_path, s3, writer)
    second_key, second_public = keypair(tmp_path, "second")
    store = _store(tmp_path / "c", s3.url(), key=second_key)
    _, use = store.obtain("aoti", KEY, _builder([], payload=b"different bytes"), label="m")
    assert use.status == BUILT and use.published is None  # the remote had one: not replaced
    envelope = json.loads(s3.get(f"ic/{entry_path('aoti', KEY)}"))
    assert envelope["signer"] == writer[1]
    assert envelope["manifest"]["files"] == first.files


def test_a_file_url_serves_a_shared_folder(tmp_path, writer):
    url = f"file://{tmp_path / 'shared'}"
    with pytest.raises(InferenceCheckError, match="no such folder"):
        _store(tmp_path / "r", url, trusted=[writer[1]])  # a reader makes nothing, not even it
    assert not (tmp_path / "shared").exists()
    a = _store(tmp_path / "a", url, key=writer[0])
    a.obtain("aoti", KEY, _builder([]), label="m")
    calls: list = []
    _, use = _store(tmp_path / "b", url, trusted=[writer[1]]).obtain(
        "aoti", KEY, _builder(calls), label="m")
    assert use.status == FETCHED and not calls


@pytest.mark.parametrize("mode", ["down", "500", "403", "slow"])
def test_a_failing_remote_is_left_after_one_note_within_its_timeout(tmp_path, s3, writer,
                                                                    monkeypatch, mode):
    _publish(tmp_path, s3, writer)
    _publish(tmp_path, s3, writer, key="o" * 32, payload=b"other" * 10)
    faults = Faults(mode=mode)
    proxy = FaultyProxy(s3.endpoint, faults)
    try:
        for name, value in env_for(proxy.endpoint).items():
            monkeypatch.setenv(name, value)
        reader = _store(tmp_path / "b", s3.url(), trusted=[writer[1]], timeout=2.0)
        calls: list = []
        uses = _finishes(lambda: [reader.obtain("aoti", k, _builder(calls), label="m")[1]
                                  for k in (KEY, "o" * 32)])
    finally:
        proxy.close()
    assert [u.status for u in uses] == [BUILT, BUILT] and len(calls) == 2
    assert reader.remote.down and len(reader.notes) == 1, reader.notes
    assert "is not used for the rest of this run" in reader.notes[0]
    assert faults.requests <= 2, faults.requests  # one try and one retry, then never again


def test_a_full_bucket_fails_publishing_once_and_the_run_goes_on(tmp_path, s3, writer,
                                                                 monkeypatch):
    proxy = FaultyProxy(s3.endpoint, faults := Faults(mode="full"))
    try:
        for name, value in env_for(proxy.endpoint).items():
            monkeypatch.setenv(name, value)
        store = _store(tmp_path / "a", s3.url(), key=writer[0], timeout=2.0)
        uses = [store.obtain("aoti", k, _builder([]), label="m")[1] for k in (KEY, "o" * 32)]
    finally:
        proxy.close()
    assert [(u.status, u.published) for u in uses] == [(BUILT, None), (BUILT, None)]
    assert "507" in store.remote.down or "Insufficient" in store.remote.down, store.remote.down
    # a lookup, then one PUT and its one retry; nothing after: no manifest without its blobs
    assert faults.requests <= 5 and s3.keys() == []


def test_the_remote_stopped_mid_run(tmp_path, s3, writer):
    _publish(tmp_path, s3, writer)
    reader = _store(tmp_path / "b", s3.url(), trusted=[writer[1]], timeout=2.0)
    assert reader.obtain("aoti", KEY, _builder([]), label="m")[1].status == FETCHED
    s3.server.stop()
    calls: list = []
    _, use = _finishes(lambda: reader.obtain("aoti", "o" * 32, _builder(calls), label="m"))
    assert use.status == BUILT and calls
    assert reader.remote.down
    s3.server.start()  # the fixture stops it


def test_settings_that_cannot_work_are_usage_errors(tmp_path, s3, writer):
    with pytest.raises(InferenceCheckError, match="names no trusted key"):
        _store(tmp_path, s3.url())
    with pytest.raises(InferenceCheckError, match="needs a signing key"):
        open_store(tmp_path, shared=False, remote=RemoteSpec(s3.url(), write=True,
                                                              trusted_keys=(writer[1],)))
    with pytest.raises(InferenceCheckError, match="not a trusted key"):
        _store(tmp_path, s3.url(), trusted=["ed25519:not-base64!"])
    with pytest.raises(InferenceCheckError, match="not a team-store URL"):
        _store(tmp_path, "https://example.com/x", trusted=[writer[1]])
    writer[0].chmod(0o644)
    with pytest.raises(InferenceCheckError, match="chmod 600"):
        _store(tmp_path, s3.url(), key=writer[0])
    keys_file = tmp_path / "trusted.txt"
    keys_file.write_text(f"# the CI writer\n{writer[1]}  # main\n")
    assert _store(tmp_path, s3.url(), trusted=[str(keys_file)]).remote.trusted[0].text == writer[1]


def test_prune_and_stats_of_the_remote(tmp_path, s3, writer, capsys):
    from pytest_inferencecheck.cli import main

    _publish(tmp_path, s3, writer)
    _publish(tmp_path, s3, writer, key="o" * 32, payload=b"other" * 10)
    assert main(["cache", "stats", "--remote", s3.url(), "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["entries"], stats["blobs"], stats["kinds"]) == (2, 3, {"aoti": 2})
    assert main(["cache", "prune", "--remote", s3.url()]) == 2  # says what it needs
    assert main(["cache", "prune", "--remote", s3.url(), "--max-age", "30d"]) == 0
    assert len(s3.keys()) == 5  # nothing that young goes
    from pytest_inferencecheck.store.remote import open_client, remote_prune

    done = remote_prune(open_client(s3.url(), "the test"), max_age_s=30 * 86400,
                        max_bytes=None, now=time.time() + 31 * 86400)
    assert (done["entries"], done["blobs"]) == (2, 3) and s3.keys() == []


def test_the_plugin_refuses_a_remote_it_cannot_trust_before_any_check(tmp_path):
    """A team store without a trusted key, or a writer without a signing key, is a usage error
    at the run's door (pytest's exit 4), naming the setting: never a silent local-only run."""
    import subprocess
    import sys

    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    for options, says in ((["--inference-check-remote=s3://b/p"], "names no trusted key"),
                          (["--inference-check-remote=s3://b/p", "--inference-check-remote-write",
                            "--inference-check-remote-trusted-keys=" + generate()[1]],
                           "needs a signing key"),
                          (["--inference-check-remote=http://b/p"], "not a team-store URL")):
        out = subprocess.run([sys.executable, "-m", "pytest", "--inference-check", "-q",
                              "-p", "no:cacheprovider", *options], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 4, out.stdout + out.stderr
        assert says in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_a_ci_secret_holding_the_pem_makes_a_writer_through_the_environment(tmp_path, s3):
    """As the workflow passes them: the URL, the switch and the PEM itself in environment
    variables (a CI secret is text, not a file), read by the run's settings."""
    from pytest_inferencecheck.config import settings
    from pytest_inferencecheck.gate.step import open_run_store

    pem, public = generate()
    environ = {"INFERENCECHECK_REMOTE": s3.url(), "INFERENCECHECK_REMOTE_WRITE": "true",
               "INFERENCECHECK_REMOTE_SIGNING_KEY": pem,
               "INFERENCECHECK_REMOTE_TRUSTED_KEYS": ""}
    s = settings.resolve({}, {"cache_dir": str(tmp_path / "a")}, "the test", environ=environ)
    store = open_run_store(s, tmp_path)
    _, use = store.obtain("aoti", KEY, _builder([]), label="m")
    assert use.published is not None
    assert json.loads(s3.get(f"ic/{entry_path('aoti', KEY)}"))["signer"] == public
    # a fork's run: the secret is empty, the variables are set: a reader of no remote at all
    quiet = settings.resolve({}, {}, "the test", environ={"INFERENCECHECK_REMOTE": "",
                                                          "INFERENCECHECK_REMOTE_SIGNING_KEY": ""})
    assert quiet.remote is None and quiet.remote_signing_key is None


def test_a_fetched_entry_its_check_finds_stale_is_built_here_and_said(tmp_path, s3, writer):
    """A recorded run on the team store is of other bytes than this store's artifact (the
    check's `accept` says so): it is not used, the run is recorded again, and the use says why."""
    _publish(tmp_path, s3, writer, meta={"artifact": {"model.pt2": "a" * 64}})
    calls: list = []
    reader = _store(tmp_path / "b", s3.url(), trusted=[writer[1]])
    entry, use = reader.obtain("aoti", KEY, _builder(calls, meta={"artifact": "mine"}),
                               label="m", accept=lambda e: None if e.meta["artifact"] == "mine"
                               else "it recorded a run of other bytes")
    assert use.status == "rebuilt" and len(calls) == 1
    assert "the team store's entry was not used: it recorded a run of other bytes" in use.note
    assert entry.meta == {"artifact": "mine"}
    assert reader.obtain("aoti", KEY, _builder(calls), label="m")[1].status == REUSED


def test_a_download_that_fills_this_machines_disk_is_the_disks_fault_not_the_remotes(
        tmp_path, s3, writer):
    """The blob is fine and the remote is up; the local store's disk fills while the blob is
    written (past the store's free-space margin, so the download itself hits ENOSPC). The store
    degrades as for any full disk (a note, a temporary store), the entry is fetched there, and
    the remote stays on."""
    from filesystems import full_disk

    _publish(tmp_path, s3, writer, payload=b"\x7fELF " + bytes(48 * 2**20))
    with full_disk(tmp_path / "small", "40m") as disk:
        calls: list = []
        reader = _store(disk / "store", s3.url(), trusted=[writer[1]])
        entry, use = reader.obtain("aoti", KEY, _builder(calls), label="m")
        assert use.status == FETCHED and not calls, use
        assert not entry.path.is_relative_to(disk)
        assert "cannot be written (No space left on device" in reader.note, reader.note
        assert reader.remote.down is None, reader.remote.down
