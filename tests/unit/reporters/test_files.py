"""The reports written to files are one registry the end of a run iterates (issue 32): each
names the setting that asks for it, renders the same results, and is written atomically."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

from pytest_inferencecheck.config.settings import Settings
from pytest_inferencecheck.gate.finish import RunEnd, write_outputs, write_progress
from pytest_inferencecheck.recommendations.decision import Recommendation
from pytest_inferencecheck.reporters.files import FILE_REPORTS
from pytest_inferencecheck.result import CheckResult


def _results() -> list[CheckResult]:
    return [CheckResult(model="m", target="mac", nodeid="t.py::test_m[mac]",
                        recommendation=Recommendation(8, "eager", None, "row 8"))]


def test_each_report_is_asked_for_by_a_setting_of_its_own():
    fields = {f.name for f in dataclasses.fields(Settings)}
    settings = [r.setting for r in FILE_REPORTS]
    assert set(settings) <= fields and len(set(settings)) == len(settings)
    assert [r.what for r in FILE_REPORTS] == ["JSON report", "JUnit report", "HTML report"]


def test_the_end_of_a_run_writes_every_report_asked_for_and_only_those(tmp_path):
    names = {"json": "r.json", "junit": "r.xml", "html": "r.html"}
    for asked in (names, {"junit": "only.xml"}):
        settings = dataclasses.replace(Settings(), **asked)
        done = write_outputs(RunEnd(_results(), settings, tmp_path))
        assert not done.errors, done.errors
        assert sorted(p.name for p in tmp_path.iterdir() if p.name in asked.values()) == sorted(
            asked.values())
        assert [line.split(":")[0] for line in done.lines] == [
            r.what for r in FILE_REPORTS if r.setting in asked]
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["model"] == "m"
    assert ET.parse(tmp_path / "r.xml").getroot().tag == "testsuites"
    assert 'id="t.py::test_m/mac"' in (tmp_path / "r.html").read_text()


def test_progress_rewrites_only_the_reports_a_crash_must_leave_valid(tmp_path):
    settings = dataclasses.replace(Settings(), json="p.json", junit="p.xml", html="p.html")
    write_progress(RunEnd(_results(), settings, tmp_path))
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(tmp_path.joinpath(getattr(settings, r.setting)).name
                             for r in FILE_REPORTS if r.progress) == ["p.json", "p.xml"]
    assert json.loads((tmp_path / "p.json").read_text())["interrupted"] is True
