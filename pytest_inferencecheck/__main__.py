"""`python -m pytest_inferencecheck`: the same as the `inferencecheck` command."""

from .cli import entry

entry()
