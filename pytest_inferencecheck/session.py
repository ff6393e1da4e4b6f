"""The run's inference-check session: gathers every result (from all xdist workers) and reports."""

from __future__ import annotations

import pytest

from .harness import USER_PROPERTY
from .reporters import summary


class InferenceCheckSession:
    """Registered as a plugin on the controller; results arrive in `report.user_properties`."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the results a test (on any worker) attached to its call-phase report."""
        if report.when != "call" and not (report.when == "setup" and report.skipped):
            return
        expected = hasattr(report, "wasxfail")
        for name, value in report.user_properties:
            if name == USER_PROPERTY:
                self.results.extend(dict(r, xfail=expected) if expected else r for r in value)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        """Draw the summary table, the deviations and the graph breaks by location."""
        self.config.hook.pytest_inferencecheck_summary(config=self.config, results=self.results)
        if not self.results:
            return
        terminalreporter.write_sep("=", "inference check")
        for line in summary.render(self.results):
            terminalreporter.write_line(line)
