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
@pytest.mark.parametrize("to", ["the process", "another thread"])
def test_ctrl_c_right_after_a_helper_starts_leaves_it_recorded_and_stoppable(monkeypatch, to):
    # The race behind a flaky Ctrl-C test under load: the interrupt landed after the helper
    # process existed and before it was recorded, so `stop` never saw it and it outlived the run.
    # A signal sent to the process reaches any thread that does not block it (xdist's, the
    # prewarm threads'), and Python runs its handler on the main thread all the same: blocking
    # it in the main thread alone failed `.ci/run` once; "another thread" makes that certain.
    real_popen = subprocess.Popen
    idle = threading.Event()
    other = threading.Thread(target=idle.wait, daemon=True)
    other.start()
    # Python's C-level handler writes to the wakeup fd on whichever thread takes the signal:
    # reading it makes sure the interrupt is pending before the helper is recorded.
    woken, wake = os.pipe()
    os.set_blocking(wake, False)
    previous_fd = signal.set_wakeup_fd(wake)

    def popen_then_interrupt(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        if to == "the process":
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, at the worst moment
        else:
            signal.pthread_kill(other.ident, signal.SIGINT)
        os.read(woken, 1)
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            helpers.launch("test", "key", [sys.executable, "-c", "import time; time.sleep(120)"])
    finally:
        signal.set_wakeup_fd(previous_fd)
        os.close(woken)
        os.close(wake)
    monkeypatch.undo()
    assert helpers.running("test", "key"), "the helper started but was never recorded"
    proc = helpers._RUNNING[("test", "key")].process
    helpers.stop()
    assert proc.poll() is not None and not helpers.running("test", "key")
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # nothing left held
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back
    idle.set()
