"""The end of a run, shared by the pytest plugin and `inferencecheck run`: every report renders
the verdicts `verdict.decide` already put in the results, and nothing is lost on the way.

Each output is written on its own (atomically, see `files`): one that cannot be written is an
error line naming it, and the others are still written. Nothing here raises: the terminal summary
always follows. An interrupted run (Ctrl-C) still writes what it has, marked as interrupted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pytest_inferencecheck.config.settings import Settings
from pytest_inferencecheck.errors import WriteError
from pytest_inferencecheck.gate import baseline
from pytest_inferencecheck.reporters import github, summary
from pytest_inferencecheck.reporters.files import FILE_REPORTS
from pytest_inferencecheck.result import CheckResult


@dataclass
class RunEnd:
    """What one run produced and where its outputs go."""

    results: list[CheckResult]
    settings: Settings
    root: Path  # relative report and baseline paths resolve here
    store: Any = None
    interrupted: bool = False
    collected_tests: set[str] | None = None  # test ids (without target) collected, for staleness
    collected_files: set[str] | None = None
    shard: dict | None = None  # a sharded run's part (`gate.shards`): in the JSON report
    sharded: dict | None = None  # a merged run's shards (count, seconds): in every report


@dataclass
class Finished:
    """What the end of the run wrote, and what went wrong writing it."""

    lines: list[str] = field(default_factory=list)  # what was written, notes
    errors: list[str] = field(default_factory=list)  # a requested output that was not written
    warnings: list[str] = field(default_factory=list)  # an optional output that was not written

    @property
    def failed_outputs(self) -> bool:
        """A requested report or baseline could not be written: CI must not go green on it."""
        return bool(self.errors)


def _attempt(done: Finished, what: str, write: Callable[[], str]) -> None:
    """Write one requested output; a failure is an error of that output alone."""
    try:
        done.lines.append(write())
    except (WriteError, baseline.BaselineError) as exc:
        done.errors.append(str(exc))
    except OSError as exc:
        done.errors.append(f"cannot write the {what}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - our bug must not hide the run's results or errors
        done.errors.append(f"cannot write the {what}: {type(exc).__name__}: {exc} (a bug in "
                           "pytest-inferencecheck: please report it)")


def write_outputs(end: RunEnd) -> Finished:
    """Prune the store, write every report the settings ask for, update or check the baseline."""
    done = Finished()
    s, results = end.settings, end.results
    if end.store is not None and results:
        try:
            end.store.prune()  # keep the store under its size cap
        except OSError as exc:  # pragma: no cover - the store degrades on its own
            done.warnings.append(f"cannot prune the artifact store: {exc}")
    extra = {k: v for k, v in (("shard", end.shard), ("sharded", end.sharded)) if v}
    for report in FILE_REPORTS:
        path = getattr(s, report.setting)
        if path:
            _attempt(done, report.what, lambda r=report, p=path: f"{r.what}: " + str(r.write(
                end.root / p, results, interrupted=end.interrupted, extra=extra)))
    if s.baseline and not end.shard:  # a shard sees part of the run: the merge judges it
        _baseline(end, done)
    return done


def write_progress(end: RunEnd) -> None:
    """The progress reports (JSON, JUnit) as they stand mid-run, written twice per check:
    atomically but without an fsync, which only a power loss would need (a failure here is
    reported at the end, when the final reports are written)."""
    for report in FILE_REPORTS:
        path = getattr(end.settings, report.setting)
        if report.progress and path:
            try:
                report.write(end.root / path, end.results, interrupted=True, durable=False)
            except OSError:
                pass


def _baseline(end: RunEnd, done: Finished) -> None:
    """Update the baseline (dropping stale entries under its lock), or report its stale entries."""
    path = end.root / end.settings.baseline
    collected = None if end.interrupted else end.collected_tests  # a partial run judges nothing
    files = end.collected_files or set()
    if end.settings.update_baseline:
        if end.interrupted:
            done.warnings.append(f"baseline {path} not updated: the run was interrupted")
            return
        _attempt(done, "baseline", lambda: baseline.update(
            path, end.results, end.root, collected_tests=collected, collected_files=files))
        return
    if collected is None:
        return
    try:
        stale = baseline.stale(baseline.load(path), end.root, collected_tests=collected,
                               collected_files=files)
    except baseline.BaselineError:
        return  # a plain run stopped on a broken baseline at the start
    if stale:
        done.lines.append(f"baseline {end.settings.baseline}: {len(stale)} stale entries (their "
                          "tests are gone): " + "; ".join(f"{identity} on {target} (from {test})"
                                                          for identity, target, test in stale)
                          + "; drop them with --inference-check-update-baseline")


def terminal_lines(end: RunEnd, done: Finished) -> list[str]:
    """The summary, the store line, what was written, and every error and warning."""
    lines = summary.render(end.results) if end.results else []
    if end.interrupted and end.results:
        lines.append(f"interrupted: {len(end.results)} checks finished before the interrupt; "
                     "the reports say so")
    if end.shard:
        sh = end.shard
        lines.append(f"shard {sh['index']}/{sh['count']}: {len(sh['groups'])} of "
                     f"{len(sh['all_groups'])} test items"
                     f"{' (balanced by recorded durations)' if sh.get('timed') else ''}; "
                     "merge the shards' JSON reports with `inferencecheck report merge`")
    if end.sharded:
        lines.append(f"sharded: {end.sharded['count']} shards, the slowest took "
                     f"{end.sharded['slowest_seconds']:.1f} s")
    if end.store is not None and end.results:
        lines.append(summary.store_line(end.results, str(end.store.root)
                                        if end.store.persistent else None))
        remote = getattr(end.store, "remote", None)
        lines += summary.team_lines(end.results, remote.url if remote else None)
    lines += done.lines
    lines += [f"ERROR: {e}" for e in done.errors]
    lines += [f"warning: {w}" for w in done.warnings]
    return lines


def github_outputs(end: RunEnd, write_line: Callable[[str], None],
                   environ=os.environ) -> None:  # type: ignore[no-untyped-def]
    """Under GitHub Actions: annotations on stdout, the step summary appended (a step summary
    that cannot be written is a warning line: it never turns a green run red)."""
    workspace = Path(environ.get("GITHUB_WORKSPACE") or end.root)
    try:
        github.emit(end.results, write_line, root=workspace, environ=environ)
    except OSError as exc:
        write_line(f"warning: cannot append the step summary "
                   f"{environ.get('GITHUB_STEP_SUMMARY')}: {exc.strerror or exc}")
