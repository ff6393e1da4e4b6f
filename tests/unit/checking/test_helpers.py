"""Helper processes: every one started is one `stop` can end, whenever Ctrl-C arrives."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The test owns the state it tests: a process of its own, whose signal handlers, mask and
# wakeup fd it sets itself. In a pytest worker they are whatever the tests before left (a
# handler swapped, a signal blocked or ignored), and the interrupt may never be delivered.
CTRL_C_AT_THE_WORST_MOMENT = r'''
import json, os, signal, subprocess, sys, threading

signal.pthread_sigmask(signal.SIG_SETMASK, [])  # nothing blocked, whatever the parent blocked
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)

from pytest_inferencecheck.checking import helpers

to = sys.argv[1]
real_popen = subprocess.Popen
idle = threading.Event()
other = threading.Thread(target=idle.wait, daemon=True)
other.start()
# Python's C-level handler writes to the wakeup fd on whichever thread takes the signal:
# reading it waits until the interrupt is pending, before the helper is recorded.
woken, wake = os.pipe()
os.set_blocking(wake, False)
signal.set_wakeup_fd(wake)


def popen_then_interrupt(*args, **kwargs):
    proc = real_popen(*args, **kwargs)
    if to == "the process":
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, at the worst moment
    else:
        signal.pthread_kill(other.ident, signal.SIGINT)
    os.read(woken, 1)
    return proc


subprocess.Popen = popen_then_interrupt
try:
    helpers.launch("test", "key", [sys.executable, "-c", "import time; time.sleep(120)"])
    raised = False
except KeyboardInterrupt:
    raised = True
subprocess.Popen = real_popen
signal.set_wakeup_fd(-1)
recorded = helpers.running("test", "key")
proc = helpers._RUNNING[("test", "key")].process if recorded else None
helpers.stop()
print(json.dumps({
    "raised": raised, "recorded": recorded,
    "stopped": proc is not None and proc.poll() is not None
               and not helpers.running("test", "key"),
    "nothing_held": signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, []),
    "handler_back": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
}))
idle.set()
'''


@pytest.mark.parametrize("to", ["the process", "another thread"])
def test_ctrl_c_right_after_a_helper_starts_leaves_it_recorded_and_stoppable(to):
    # The race behind a flaky Ctrl-C test under load: the interrupt landed after the helper
    # process existed and before it was recorded, so `stop` never saw it and it outlived the run.
    # A signal sent to the process reaches any thread that does not block it (xdist's, the
    # prewarm threads'), and Python runs its handler on the main thread all the same: blocking
    # it in the main thread alone failed `.ci/run` once; "another thread" makes that certain.
    out = subprocess.run([sys.executable, "-c", CTRL_C_AT_THE_WORST_MOMENT, to],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"raised": True, "recorded": True, "stopped": True, "nothing_held": True,
                    "handler_back": True}, (seen, "the helper started but was never recorded"
                                            if not seen["recorded"] else "")


def test_a_forked_helper_stuck_on_an_inherited_lock_is_ended(monkeypatch):
    """Issue 35: a helper forked while another thread held a lock waits on it forever; whoever
    waits for the helper ends it once it has used no CPU for a while, and goes on."""
    import threading

    from pytest_inferencecheck.checking import helpers

    monkeypatch.setattr(helpers.Forked, "STALL_S", 1.0)
    lock, held, done = threading.Lock(), threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            held.set()
            done.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    try:
        ahead = helpers.fork("test-stuck", "key", lambda: lock.acquire() and 0)
        # what `helpers.wait` does, with a deadline: without the watchdog this times out
        assert ahead.process.wait(timeout=20) == -9
    finally:
        done.set()
        thread.join()
        helpers.stop()
