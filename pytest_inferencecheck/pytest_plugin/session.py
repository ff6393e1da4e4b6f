"""The run's inference-check session: gathers every result (from all xdist workers), then ends
the run through `finish`, the step `inferencecheck run` shares."""

from __future__ import annotations

import pytest

from pytest_inferencecheck.gate.finish import (
    Finished,
    RunEnd,
    github_outputs,
    terminal_lines,
    write_outputs,
    write_progress,
)
from pytest_inferencecheck.pytest_plugin import sharding
from pytest_inferencecheck.pytest_plugin.item_check import SETTINGS, USER_PROPERTY, store_of
from pytest_inferencecheck.recommendations.table import TARGETS
from pytest_inferencecheck.result import (
    CheckResult,
    crashed,
    from_dict,
    interrupted,
)
from pytest_inferencecheck.support.nodeids import target_in, without_target

NOTHING_TO_CHECK = ("inferencecheck: nothing to check (no test is marked deploy_target and no "
                    "model is declared in [tool.inferencecheck.models])")


class InferenceCheckSession:
    """Registered as a plugin on the controller; results arrive in `report.user_properties`."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[CheckResult] = []
        self.tests: set[str] = set()  # every collected check's test id, deselected ones too
        self.files: set[str] = set()
        self.targets: dict[str, str] = {}  # node id -> target, for every collected check
        self.running: dict[str, CheckResult] = {}  # checks started, not yet reported
        self.end: RunEnd | None = None
        self.done = Finished()
        self.nothing_to_check = False

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        """The run's resolved settings."""
        return self.config.stash[SETTINGS]

    def _remember(self, nodeid: str, target: str | None) -> None:
        """A check that exists in this run (for crash reports and stale baseline entries)."""
        if target is not None:
            self.targets[nodeid] = target
            self.tests.add(without_target(nodeid, target))
            self.files.add(nodeid.split("::", 1)[0])

    def note_collected(self, items: list[pytest.Item], target_of) -> None:  # type: ignore
        """Remember the checks that exist (for stale baseline entries), before any deselection."""
        for item in items:
            self._remember(item.nodeid, target_of(item))

    def _progress(self) -> None:
        """Rewrite the reports with what is known now, marked interrupted until the run ends:
        if the process dies (a native crash), the reports on disk still hold every result
        before it, and the check that was running as failed at stage `crashed`."""
        s = self.settings
        if s.json or s.junit:
            write_progress(RunEnd([*self.results, *self.running.values()], s,
                                  self.config.rootpath, interrupted=True))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:  # type: ignore
        """Under pytest-xdist the controller collects nothing itself: a worker's node ids say
        which checks exist (their parameter is a target)."""
        for nodeid in ids:
            self._remember(nodeid, target_in(nodeid, TARGETS))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:  # type: ignore[no-untyped-def]
        """A worker of a sharded run hands over its plan of the shards (`sharding`)."""
        sharding.from_worker(self.config, getattr(node, "workeroutput", None) or {})

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str, location) -> None:  # type: ignore
        """A check starts: until its result arrives, the reports say it crashed."""
        target = self.targets.get(nodeid)
        if target is None or not self.settings.enabled:
            return
        self.running[nodeid] = crashed(nodeid, target, "the process running this check died "
                                       "(a native crash in torch or in the artifact, or it was "
                                       "killed) before the check finished")
        self._progress()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the results a test (on any worker) attached to its call-phase report; a
        worker that crashed on a check (pytest-xdist) fails that check, at stage `crashed`."""
        if report.when == "???" and report.nodeid in self.targets:  # xdist: the worker died
            self.running.pop(report.nodeid, None)
            self.results.append(crashed(report.nodeid, self.targets[report.nodeid],
                                        f"{report.longrepr} (a native crash, or it was killed); "
                                        "the other checks went on in a new worker"))
            self._progress()
            return
        if report.when != "call" and not (report.when == "setup" and report.skipped):
            if report.when == "teardown":
                self.running.pop(report.nodeid, None)
            return
        expected = hasattr(report, "wasxfail")
        for name, value in report.user_properties:
            if name == USER_PROPERTY:
                for d in value:
                    result = from_dict(d)
                    result.expected_failure = expected
                    self.results.append(result)
        if self.running.pop(report.nodeid, None) is not None:
            self._progress()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the reports and the baseline (controller only); never raises."""
        s = self.settings
        stopped = exitstatus == pytest.ExitCode.INTERRUPTED
        if stopped:  # the checks Ctrl-C stopped are in the reports, as interrupted
            self.results += [interrupted(r.nodeid or "", r.model, r.target)
                             for r in self.running.values()]
            self.running.clear()
        self.end = RunEnd(self.results, s, self.config.rootpath,
                          store_of(self.config) if self.results else None, stopped,
                          self.tests if self.tests else None, self.files,
                          shard=sharding.header(self.config))
        if s.json or s.junit or s.html or s.baseline or self.results:
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
        github_outputs(end, terminalreporter.write_line)
