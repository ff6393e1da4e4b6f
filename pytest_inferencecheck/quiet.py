"""Keep torch's own warnings out of the user's output while we trace: we report them better."""

from __future__ import annotations

import contextlib
import io
import logging
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
