"""The `inferencecheck` command (and `python -m pytest_inferencecheck`). `lint` starts in its
own package, which never imports torch or the checker; everything else in `cli`."""

from __future__ import annotations

import sys


def entry() -> None:
    """Console-script entry point."""
    if sys.argv[1:2] == ["lint"]:
        from pytest_inferencecheck.lint.cli import entry as lint  # noqa: PLC0415 - lint alone

        sys.exit(lint(sys.argv[2:]))
    from pytest_inferencecheck.cli import entry as command  # noqa: PLC0415 - the rest

    command()


if __name__ == "__main__":
    entry()
