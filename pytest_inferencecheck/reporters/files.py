"""The reports a run writes to files, in the order they are written: one per format module."""

from __future__ import annotations

from pytest_inferencecheck.reporters import html, json_report, junit
from pytest_inferencecheck.reporters.base import FileReport

FILE_REPORTS: tuple[FileReport, ...] = (json_report.REPORT, junit.REPORT, html.REPORT)
