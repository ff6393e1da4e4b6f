"""One definition per knob, whatever its scope: its name (the attribute, the `[tool.inferencecheck]`
key, the marker's and `check()`'s keyword), default, help, validator, command-line form and
environment variable. Run-wide settings (`settings.SETTINGS`) and per-check options
(`options.CHECK_KNOBS`) are both made of it, and one registrar serves pytest and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

#: (name, value, source) -> the value kept; raises InferenceCheckError naming the source.
Validator = Callable[[str, Any, str], Any]

#: How a knob appears on a command line: "switch" (--x and --no-x), "flag" (--x), "value"
#: (--x V), "list" (--x A,B), "append" (--x A --x B,C); None: no command-line form.
Form = Literal["switch", "flag", "value", "list", "append"]

PYTEST_PREFIX = "--inference-check-"


@dataclass(frozen=True)
class Knob:
    """One setting or option, defined once."""

    name: str
    scope: Literal["run", "check"]
    default: Any
    help: str
    validate: Validator
    form: Form | None = None
    flag: str | None = None  # a run knob's pytest flag; a check knob's flag is --NAME
    metavar: str | None = None
    convert: Callable[[str], Any] | None = None  # the command-line value's type
    env: str | None = None

    @property
    def dest(self) -> str:
        """The argparse destination (the same for pytest and the CLI, so one resolver serves
        both)."""
        return self.flag.lstrip("-").replace("-", "_") if self.flag else self.name

    def flag_for(self, prefix: str) -> str:
        """This knob's flag under a prefix ("--inference-check-" in pytest, "--" in the CLI)."""
        if self.flag is None:
            return "--" + self.name.replace("_", "-")
        return (prefix + self.flag[len(PYTEST_PREFIX):] if self.flag.startswith(PYTEST_PREFIX)
                else self.flag)


def _split(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def add_arguments(addoption: Callable[..., Any], knobs: tuple[Knob, ...],
                  prefix: str = PYTEST_PREFIX) -> None:
    """Register knobs with an argparse-like `addoption` (pytest's group or a CLI parser)."""
    for k in knobs:
        if k.form is None:
            continue
        flag = k.flag_for(prefix)
        if k.form in ("switch", "flag"):
            addoption(flag, action="store_true", dest=k.dest, default=None, help=k.help)
            if k.form == "switch":
                addoption("--no-" + flag[2:], action="store_false", dest=k.dest, default=None,
                          help=f"Turn {flag} off (overrides config and environment)")
        elif k.form == "append":
            addoption(flag, action="append", dest=k.dest, default=None, metavar=k.metavar,
                      help=k.help)
        elif k.form == "list":
            addoption(flag, dest=k.dest, default=None, metavar=k.metavar or "A,B", type=_split,
                      help=k.help)
        else:
            extra = {"type": k.convert} if k.convert else {}
            addoption(flag, action="store", dest=k.dest, default=None, metavar=k.metavar,
                      help=k.help, **extra)
