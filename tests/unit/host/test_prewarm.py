"""Background work started ahead of the checks (`prewarm`) must never import on its own thread.

Two threads importing torch's modules at once can each be handed the other's half-initialised
module. In CI this made a user's test file fail to collect, and then the JSON report's own
`import torch` failed with "... is already defined" and took the run's summary with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SPY = textwrap.dedent('''
    import importlib.abc, json, sys, threading

    off_main = []

    class Spy(importlib.abc.MetaPathFinder):
        """Sees every import of a module not imported yet; records those off the main thread."""
        def find_spec(self, name, path=None, target=None):
            if threading.current_thread() is not threading.main_thread():
                off_main.append([threading.current_thread().name, name])
            return None

    sys.meta_path.insert(0, Spy())
    assert "torch" not in sys.modules  # a fresh interpreter: the probe's imports are all ahead

    from pytest_inferencecheck.host import prewarm
    from pytest_inferencecheck.store.artifacts import ArtifactStore

    store = ArtifactStore(sys.argv[1])
    probe = prewarm.probe_cpu(store)
    runner = prewarm.build_runner(store, ["server-x86-cpp"])
    assert probe is not None and runner is not None, "an empty store must start both"
    prewarm.settle_cpu_probe()
    runner.join(300)
    assert not probe.is_alive() and not runner.is_alive()
    from pytest_inferencecheck.host.cpp_build import build_key, find_compiler
    assert store.lookup("runner", build_key(find_compiler())) is not None, "no runner built"
    print(json.dumps(off_main))
''')


def test_background_jobs_import_nothing_on_their_threads(tmp_path):
    # a cold inductor cache and an empty store: the CPU probe and the C++ runner build run for
    # real (and import all they would)
    env = {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"), "PATH": "/usr/bin:/bin",
           "INFERENCECHECK_RUNNER_DIR": str(tmp_path / "machine")}  # none built on it yet
    proc = subprocess.run([sys.executable, "-c", SPY, str(tmp_path / "store")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    off_main = json.loads(proc.stdout.strip().splitlines()[-1])
    assert off_main == [], f"imported on a background thread: {off_main[:10]}"


BROKEN_TORCH = '''
raise RuntimeError("generic_type: cannot initialize type 'RpcBackendOptions': "
                   "an object with that name is already defined (a torch that cannot import)")
'''


def test_a_torch_that_cannot_import_is_a_collection_error_and_every_report_is_written(
        pytester):
    """A torch that fails to import (a broken install; here a package that shadows it and
    raises) is the user's collection error, shown with its message, and the reports are still
    written: none of ours imports torch again to describe the host."""
    pytester.mkpydir("torch").joinpath("__init__.py").write_text(BROKEN_TORCH)
    pytester.makepyfile(test_model='''
        import pytest, torch

        @pytest.mark.deploy_target("server-x86-python")
        def test_model(inference_check):
            pass
    ''')
    result = pytester.runpytest_subprocess("--inference-check", "--inference-check-json=r.json",
                                           "--junitxml=j.xml", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, output  # interrupted by a collection error
    result.stdout.fnmatch_lines(["*ERROR collecting test_model.py*",
                                 "*a torch that cannot import*"])
    assert "Traceback" not in result.stderr.str() and "INTERNALERROR" not in output, output
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["results"] == [] and report["host"]["cuda"] is False
    assert report["torch"]  # the installed distribution's version, read without importing it
    assert (pytester.path / "j.xml").is_file()
