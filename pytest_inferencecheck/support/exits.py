"""How a command ends: its exit code, a usage error as one line on stderr (exit 2), a reader
that left the pipe (141, as a shell tool killed by SIGPIPE), and an internal error as a line
asking for a report instead of a traceback. Shared by `inferencecheck` and its `lint`, which
starts without the rest of the command (see `__main__`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from pytest_inferencecheck.errors import InferenceCheckError


def guarded(command: Callable[[], int], prog: str = "inferencecheck") -> int:
    """Run `command` and return its exit code, whatever it raises."""
    try:
        code = int(command())
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `inferencecheck table | head -1`: the reader left, as it may
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return 141  # 128 + SIGPIPE, what a shell tool killed by the closed pipe returns
    except InferenceCheckError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 2
    except Exception as exc:  # noqa: BLE001 - an internal error is still exit 2 with a message
        print(f"{prog}: internal error: {type(exc).__name__}: {exc} (please report it)",
              file=sys.stderr)
        return 2
