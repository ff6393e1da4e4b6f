"""Every error this package raises, by who has to act on it.

- **Usage** (`InferenceCheckError`, `BaselineError`): bad input to us: a target, an option, a
  config file, a baseline. The message says what is valid. pytest reports it as a usage error.
- **Host** (`HostFault`, `ExecuTorchMissing`): the machine cannot do what the check needs: no
  compiler, no space, no write access, an optional dependency missing. Never a model verdict.
- **Ours** (`InternalError`): a bug of pytest-inferencecheck; reported as stage `internal`
  with the traceback, never as the model's failure.

What the *model* does wrong is not an exception anyone catches: it is a `Failure` in the
result, with the stage, the user's file and line, and what to do.
"""

from __future__ import annotations


class InferenceCheckError(ValueError):
    """A usage error: an unknown target, a wrong option, inputs of the wrong kind."""


class BaselineError(InferenceCheckError):
    """The baseline file cannot be used as it is (unreadable, corrupt, malformed, old format)."""


class HostFault(RuntimeError):
    """The host cannot do what the check needs; the message says what, `hint` what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ExecuTorchMissing(RuntimeError):
    """ExecuTorch is not installed: mobile and edge targets cannot be checked."""


class InternalError(RuntimeError):
    """A bug of pytest-inferencecheck (not of the model, not of the host)."""


def reject_unknown_keys(table: dict, valid: set[str] | frozenset[str], where: str) -> None:
    """Raise, naming the table and the valid keys, if a config table has keys we do not know."""
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise InferenceCheckError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: "
                                  f"{', '.join(sorted(valid))}")
