"""Every error this package raises, by who has to act on it.

- **Usage** (`InferenceCheckError`, `BaselineError`): bad input to us: a target, an option, a
  config file, a baseline. The message says what is valid. pytest reports it as a usage error.
- **Host** (`HostFault`, `ExecuTorchMissing`): the machine cannot do what the check needs: no
  compiler, no space, no write access, an optional dependency missing. Never a model verdict.
- **Ours** (`InternalError`): a bug of pytest-inferencecheck; reported as stage `internal`
  with the traceback, never as the model's failure.

What the *model* does wrong is not an exception anyone catches: it is a `Failure` in the
result, with the stage, the user's file and line, and what to do. The exceptions below the
line carry it there: the pipeline raises and catches them, and none reaches the user as such.

- **A check's own ending** (`StageError`, `CheckFailed`, `CheckTimeout`): a stage failed, the
  check ends with these failures, the check ran past its `timeout_s`.
- **Building and running the C++ runner** (`BuildError`, `CppRunnerError`): turned into a host
  fault (no compiler) or a failure of the `run` stage, with the compiler's or runner's output.
- **A failure explained where it happened** (`Explained`): a stage knows better than a generic
  hint what went wrong (an ExecuTorch runtime's error code and log, a backend that raised on a
  node): the message, the user's line, what to do and the evidence (a log, a traceback).
- **Reuse** (`Uncacheable`): a value cannot be keyed faithfully, so the check measures again.
- **Reports** (`WriteError`): a report could not be written; the end of the run says which.

This module imports nothing of the package: it is the bottom layer, so every layer can raise.
"""

from __future__ import annotations

from typing import Any


class InferenceCheckError(ValueError):
    """A usage error: an unknown target, a wrong option, inputs of the wrong kind."""


class BaselineError(InferenceCheckError):
    """The baseline file cannot be used as it is (unreadable, corrupt, malformed, old format)."""


class HostFault(RuntimeError):
    """The host cannot do what the check needs; the message says what, `hint` what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class EntryRefused(Exception):
    """A team-store entry this reader will not load (unsigned, signed by a key it does not
    trust, copied to another key, a file that does not hash to its address); the message says
    why. The entry is built locally instead: never the model's failure."""


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


# -- Carried to a result inside a check; none reaches the user as an exception ----------


class StageError(Exception):
    """A stage failed; carries the stage name, the original exception and its user location
    (a `support.locations.Location`, or None)."""

    def __init__(self, stage: str, exc: BaseException, where: Any):
        super().__init__(f"{stage}: {exc}")
        self.stage, self.exc, self.where = stage, exc, where


class Explained(Exception):
    """A stage's failure, already explained by the code that saw it: what happened, where in the
    user's code, what to do, and the evidence behind it (a runtime's log, a library's traceback),
    which the report keeps in full. `facts` travel to the result even though the stage failed
    (an ExecuTorch program's delegation and operators, say)."""

    def __init__(self, message: str, hint: str, *, file: str | None = None,
                 line: int | None = None, details: str | None = None,
                 facts: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.hint, self.file, self.line = hint, file, line
        self.details, self.facts = details, facts


class CheckFailed(Exception):
    """The check ends here with these failures (`result.Failure`s; e.g. an eager reference
    that cannot be trusted)."""

    def __init__(self, *failures: Any) -> None:
        super().__init__("; ".join(f.message for f in failures))
        self.failures = list(failures)


class CheckTimeout(BaseException):
    """The check ran past its `timeout_s`. A BaseException, like KeyboardInterrupt, so that no
    stage mistakes it for a failure of the model (a fallback, a lost race): the check ends."""

    def __init__(self, seconds: float, stage: str | None) -> None:
        super().__init__(f"ran past timeout_s={seconds:g}" + (f" in stage {stage}" if stage
                                                               else ""))
        self.seconds, self.stage = seconds, stage


class Uncacheable(Exception):
    """A value that cannot be keyed faithfully; the message names it."""


class WriteError(OSError):
    """A report could not be written; the message says which, where and why."""


class BuildError(RuntimeError):
    """The runner could not be built; the message holds the compiler's own output."""


class CppRunnerError(RuntimeError):
    """The runner process failed: crashed, exited non-zero, or hung."""
