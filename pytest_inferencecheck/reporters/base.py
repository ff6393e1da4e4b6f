"""What a report written to a file is: its name, the run setting that names its path, how it
renders the results as text, and whether it is rewritten as each check ends. Each format's module
defines one (`REPORT`); `reporters.files.FILE_REPORTS` lists them, and the end of a run writes
each one the settings ask for, without naming any."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pytest_inferencecheck.result import CheckResult
from pytest_inferencecheck.support.files import write_atomic


class Render(Protocol):
    """A format's renderer: the results (and, for a page made later, the run's header) as text;
    `extra`: run facts beyond the results (a shard's part, a merged run's shards)."""

    def __call__(self, results: Sequence[CheckResult], *, interrupted: bool = False,
                 header: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None) -> str: ...


@dataclass(frozen=True)
class FileReport:
    """One report format written to a file."""

    what: str  # "JSON report": how messages name it
    setting: str  # the `Settings` field (and option) that names its path
    render: Render
    progress: bool = False  # rewritten as each check starts and ends: a crash leaves it valid

    def write(self, path: str | os.PathLike, results: Sequence[CheckResult], *,
              interrupted: bool = False, header: dict[str, Any] | None = None,
              durable: bool = True, extra: dict[str, Any] | None = None) -> Path:
        """Render and write atomically: a half-written report is never read."""
        text = self.render(results, interrupted=interrupted, header=header, extra=extra)
        return write_atomic(path, text, what=self.what, durable=durable)
