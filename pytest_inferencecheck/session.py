"""The run's inference-check session: gathers every result (from all xdist workers), then ends
the run through `finish`, the step `inferencecheck run` shares."""

from __future__ import annotations

import pytest

from .finish import Finished, RunEnd, github_outputs, terminal_lines, write_outputs
from .item_check import SETTINGS, USER_PROPERTY, store_of
from .result import CheckResult, from_dict, without_target

NOTHING_TO_CHECK = ("inferencecheck: nothing to check (no test is marked deploy_target and no "
                    "model is declared in [tool.inferencecheck.models])")


class InferenceCheckSession:
    """Registered as a plugin on the controller; results arrive in `report.user_properties`."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[CheckResult] = []
        self.tests: set[str] = set()  # every collected check's test id, deselected ones too
        self.files: set[str] = set()
        self.end: RunEnd | None = None
        self.done = Finished()
        self.nothing_to_check = False

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        """The run's resolved settings."""
        return self.config.stash[SETTINGS]

    def note_collected(self, items: list[pytest.Item], target_of) -> None:  # type: ignore
        """Remember the checks that exist (for stale baseline entries), before any deselection."""
        for item in items:
            target = target_of(item)
            if target is not None:
                self.tests.add(without_target(item.nodeid, target))
                self.files.add(item.nodeid.split("::", 1)[0])

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the results a test (on any worker) attached to its call-phase report."""
        if report.when != "call" and not (report.when == "setup" and report.skipped):
            return
        expected = hasattr(report, "wasxfail")
        for name, value in report.user_properties:
            if name == USER_PROPERTY:
                for d in value:
                    result = from_dict(d)
                    result.expected_failure = expected
                    self.results.append(result)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the reports and the baseline (controller only); never raises."""
        s = self.settings
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        self.end = RunEnd(self.results, s, self.config.rootpath,
                          store_of(self.config) if self.results else None, interrupted,
                          self.tests if self.tests else None, self.files)
        if s.json or s.junit or s.baseline or self.results:
            self.done = write_outputs(self.end)
        if self.done.failed_outputs and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if s.only and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and not self.tests:
            self.nothing_to_check = True  # a hook on a repository without models: not an error
            session.exitstatus = pytest.ExitCode.OK

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        """The summary, what was written, errors writing it, annotations; always printed."""
        self.config.hook.pytest_inferencecheck_summary(
            config=self.config, results=[r.to_dict() for r in self.results])
        if self.nothing_to_check:
            terminalreporter.write_line(NOTHING_TO_CHECK)
        end = self.end or RunEnd(self.results, self.settings, self.config.rootpath)
        lines = terminal_lines(end, self.done)
        if lines:
            terminalreporter.write_sep("=", "inference check")
            for line in lines:
                red = line.startswith("ERROR:")
                terminalreporter.write_line(line, red=red, bold=red)
        github_outputs(end, self.done, terminalreporter.write_line)
