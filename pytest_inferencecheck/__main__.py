"""`python -m pytest_inferencecheck`: the same as the `inferencecheck` command."""

from pytest_inferencecheck.cli import entry

entry()
