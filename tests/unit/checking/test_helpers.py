"""Helper processes: every one started is one `stop` can end, whenever Ctrl-C arrives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from pytest_inferencecheck.checking import helpers


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="Python delivers SIGINT to the main thread only, where checks run")
def test_ctrl_c_right_after_a_helper_starts_leaves_it_recorded_and_stoppable(monkeypatch):
    # The race behind a flaky Ctrl-C test under load: the interrupt landed after the helper
    # process existed and before it was recorded, so `stop` never saw it and it outlived the run.
    real_popen = subprocess.Popen

    def popen_then_interrupt(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, at the worst moment
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        helpers.launch("test", "key", [sys.executable, "-c", "import time; time.sleep(120)"])
    monkeypatch.undo()
    assert helpers.running("test", "key"), "the helper started but was never recorded"
    proc = helpers._RUNNING[("test", "key")].process
    helpers.stop()
    assert proc.poll() is not None and not helpers.running("test", "key")
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # nothing left held
