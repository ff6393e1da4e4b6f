"""Keep torch's own warnings out of the user's output while we trace: we report them better."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from typing import Iterator


@contextlib.contextmanager
def quiet_torch(level: int = logging.ERROR) -> Iterator[None]:
    """Raise the `torch` logger's level, silence warnings and stray stderr for the duration.

    torch.export prints a failed trace's partial graph straight to stderr; the issue list we
    build says more, with the user's lines.
    """
    log = logging.getLogger("torch")
    old = log.level
    log.setLevel(level)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(old)


@contextlib.contextmanager
def torch_trace_to_torch_only() -> Iterator[None]:
    """Keep foreign handlers off torch's structured-trace logger while a check runs.

    `torch.__trace` never propagates and is always at DEBUG; torch emits (and pays to build)
    its records whenever the logger has any handler. pytest >= 9 attaches its capture handlers
    to non-propagating loggers too, which turns every compile into pages of DEBUG lines in the
    report. Handlers torch itself installs (TORCH_TRACE, draft_export's capture) stay.
    """
    trace = logging.getLogger("torch.__trace")
    saved = list(trace.handlers)
    trace.handlers = [h for h in saved if type(h).__module__.startswith("torch")]
    try:
        yield
    finally:
        trace.handlers = saved


class CapturedFd:
    """What a native library wrote to a file descriptor while captured."""

    text: str = ""


@contextlib.contextmanager
def capture_fd(fd: int = 2) -> Iterator[CapturedFd]:
    """Capture a file descriptor at the OS level (C++ runtimes bypass `sys.stderr`)."""

    captured = CapturedFd()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield captured
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode(errors="replace")


@contextlib.contextmanager
def capture_stderr() -> Iterator[CapturedFd]:
    """Capture standard error both at the OS level and through Python's `sys.stderr`: ExecuTorch's
    Python bindings write the runtime's log through `sys.stderr`, which pytest replaces, and
    native code beside it writes to fd 2."""

    captured = CapturedFd()
    text = io.StringIO()
    with capture_fd(2) as native:
        try:
            with contextlib.redirect_stderr(text):
                yield captured
        finally:
            captured.text = text.getvalue()
    captured.text = native.text + captured.text


@contextlib.contextmanager
def quiet_imports(*loggers: str) -> Iterator[None]:
    """Import a library without its import-time warnings and log lines reaching the user:
    deprecations inside the library's own code (ExecuTorch's `torch.jit.script_method`, say),
    which the user cannot act on. Their own warnings are never raised here."""
    saved = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
