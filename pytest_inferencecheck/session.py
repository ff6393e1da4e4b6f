"""The run's inference-check session: gathers every result (from all xdist workers) and reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .item_check import SETTINGS, USER_PROPERTY, store_of
from .reporters import github, json_report, junit, summary
from .result import CheckResult, from_dict


class InferenceCheckSession:
    """Registered as a plugin on the controller; results arrive in `report.user_properties`."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[CheckResult] = []
        self.written: list[str] = []

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

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        """Draw the summary table, the deviations and the graph breaks by location."""
        self.config.hook.pytest_inferencecheck_summary(
            config=self.config, results=[r.to_dict() for r in self.results])
        if not self.results:
            return
        terminalreporter.write_sep("=", "inference check")
        for line in summary.render(self.results):
            terminalreporter.write_line(line)
        store = store_of(self.config)
        terminalreporter.write_line(summary.store_line(self.results, str(store.root)
                                                       if store.persistent else None))
        for line in self.written:
            terminalreporter.write_line(line)
        github.emit(self.results, terminalreporter.write_line, strict=self.settings.strict,
                    root=Path(os.environ.get("GITHUB_WORKSPACE") or self.config.rootpath))

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        """The run's resolved settings."""
        return self.config.stash[SETTINGS]

    @pytest.hookimpl
    def pytest_sessionfinish(self) -> None:
        """Write the reports and, when asked, the updated baseline (controller only)."""
        s, root = self.settings, self.config.rootpath
        if self.results:
            store_of(self.config).prune()  # keep the store under its size cap
        if s.json:
            self.written.append(f"JSON report: {json_report.write(root / s.json, self.results)}")
        if s.junit:
            self.written.append(f"JUnit report: {junit.write(root / s.junit, self.results)}")
        if s.baseline and s.update_baseline:
            from . import baseline

            path = root / s.baseline
            baseline.write(path, baseline.updated(baseline.load(path), self.results, root))
            self.written.append(f"baseline updated: {path}")
