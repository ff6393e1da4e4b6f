"""The team store end to end (issue 33): real `pytest --inference-check` runs as separate
"machines" (each its own artifact store and its own inductor cache), sharing one S3 server
(moto, in this process: real HTTP, the S3 API) through `--inference-check-remote`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from team_store import Faults, FaultyProxy, env_for, keypair, s3_server

from pytest_inferencecheck.host.cpp_build import BINARY_NAME, build_key, find_compiler
from pytest_inferencecheck.store.remote import blob_path, entry_path
from pytest_inferencecheck.store.signing import generate, load_signing_key

pytestmark = pytest.mark.slow

TEST = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target("server-x86-python", "server-x86-cpp", "mobile-android")
def test_clean(inference_check):
    inference_check(mymodels.Clean(), (torch.randn(2, 4),), name="clean")
'''


@pytest.fixture
def repo(pytester):
    from repo_sources import MODELS

    pytester.makepyfile(mymodels=MODELS)
    pytester.makepyfile(test_team=TEST)
    return pytester.path


@pytest.fixture
def s3():
    with s3_server() as server:
        yield server


def machine(repo, tmp_path, name, endpoint, *options, targets=None):
    """One run on a "machine" of its own: its own artifact store and inductor cache."""
    home = tmp_path / name
    env = {**os.environ, **env_for(endpoint), "INFERENCECHECK_CACHE_DIR": str(home / "store"),
           "TORCHINDUCTOR_CACHE_DIR": str(home / "inductor")}
    report = home / "r.json"
    args = [sys.executable, "-m", "pytest", "test_team.py", "--inference-check", "-q",
            "-p", "no:cacheprovider", f"--inference-check-json={report}", *options]
    for target in targets or ():
        args.append(f"--inference-check-target={target}")
    out = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-3000:]
    results = json.loads(report.read_text())["results"]
    verdicts = sorted((r["target"], r["outcome"], r["recommendation"]["row"],
                       r["numerics"]["ok"], r["numerics"]["max_abs_err"]) for r in results)
    uses = [(a["kind"], a["status"]) for r in results for a in r["artifacts"]]
    return verdicts, uses, out.stdout


def test_a_second_machine_builds_nothing_and_reaches_the_first_ones_verdicts(repo, tmp_path, s3):
    key, public = keypair(tmp_path)
    url = s3.url()
    first, built, out = machine(repo, tmp_path, "ci", s3.endpoint,
                                   f"--inference-check-remote={url}",
                                   "--inference-check-remote-write",
                                   f"--inference-check-remote-signing-key={key}")
    assert {"aoti", "executorch", "run"} <= {k for k, s in built if s == "built"}
    assert "entries fetched (0 B down)" in out and " published (" in out, out[-2000:]
    published = s3.keys()
    # the C++ runner too (built ahead while the first check traced: reused by the check)
    assert {p.split("/")[3] for p in published if "/entries/" in p} == {
        "aoti", "executorch", "runner", "run"}

    # a developer's machine: reads, trusts the CI key, builds nothing, writes nothing
    second, uses, out = machine(repo, tmp_path, "laptop", s3.endpoint,
                                   f"--inference-check-remote={url}",
                                   f"--inference-check-remote-trusted-keys={public}")
    # what the laptop fetched gives exactly what it would reach by itself: its own cold run
    cold, _, _ = machine(repo, tmp_path, "laptop-cold", s3.endpoint, "--no-inference-check-cache")
    assert second == cold == first
    assert {s for _, s in uses} == {"fetched", "reused"}, uses  # fetched once, then local
    # (the C++ runner is not needed at all: the recorded run of the fetched .pt2 is replayed)
    assert sorted(k for k, s in uses if s == "fetched") == sorted(
        k for k, s in built if s == "built" and k != "runner")
    assert "0 published" in out
    assert s3.keys() == published  # a reader writes nothing

    # a third machine whose remote dies after a few requests: the same verdicts, local-only
    proxy = FaultyProxy(s3.endpoint, faults := Faults(mode="down", after=3))
    try:
        third, uses, out = machine(repo, tmp_path, "flaky", proxy.endpoint,
                                         f"--inference-check-remote={url}",
                                         f"--inference-check-remote-trusted-keys={public}",
                                         "--inference-check-remote-timeout=3")
    finally:
        proxy.close()
    assert third == first
    assert "built" in {s for _, s in uses} and faults.requests <= 5, (uses, faults.requests)
    assert out.count("is not used for the rest of this run") == 1, out[-3000:]


def test_a_planted_runner_signed_by_an_untrusted_key_is_never_run(repo, tmp_path, s3):
    """The issue's attack on a shared cache, moved to the team store: someone who can write
    the bucket plants a C++ runner that would write a canary, with a manifest that matches it,
    signed by their own key. The reader never runs it: it builds its own, and the check passes."""
    _, public = keypair(tmp_path)
    canary = tmp_path / "canary"
    program = f"#!/bin/sh\necho owned > {canary}\nexit 0\n".encode()
    import hashlib

    digest = hashlib.sha256(program).hexdigest()
    runner_key = build_key(find_compiler())
    manifest = {"schema": "inferencecheck-store/2", "kind": "runner", "key": runner_key,
                "label": "C++ AOTI runner", "created": 0.0, "meta": {},
                "files": {BINARY_NAME: {"bytes": len(program), "sha256": digest,
                                                         "executable": True}}}
    from pytest_inferencecheck.store.trust import seal

    attacker = load_signing_key(generate()[0], "the attacker")
    s3.put(f"ic/{blob_path(digest)}", program)
    s3.put(f"ic/{entry_path('runner', runner_key)}",
           json.dumps(attacker.sign(seal(manifest))).encode())
    verdicts, uses, out = machine(repo, tmp_path, "reader", s3.endpoint,
                                     f"--inference-check-remote={s3.url()}",
                                     f"--inference-check-remote-trusted-keys={public}",
                                     targets=["server-x86-cpp"])
    assert not canary.exists()
    assert verdicts[0][:2] == ("server-x86-cpp", "passed")
    assert ("runner", "reused") in uses  # built here ahead of need, then used
    assert "the team store's runner" in out and "a key this reader does not trust" in out, \
        out[-3000:]
