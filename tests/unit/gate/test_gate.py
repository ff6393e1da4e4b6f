"""The CI gate from real runs: JSON (against the schema), JUnit, GitHub annotations, baselines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from pytest_inferencecheck.reporters.json_report import SCHEMA_FILE
from pytest_inferencecheck.support.workflow_commands import command, escape_data, escape_property

from repo_sources import MODELS, line_of

TESTS = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac", "edge")
def test_clean(inference_check):
    inference_check(mymodels.Clean(), (torch.ones(2, 4),), name="clean")

@pytest.mark.deploy_target("mac", "server-x86-cpp")
def test_breaks(inference_check):
    inference_check(mymodels.Breaks(), (torch.ones(3),), name="breaks")
'''


@pytest.fixture
def repo(pytester):
    pytester.makepyfile(mymodels=MODELS, test_m=TESTS)
    pytester.syspathinsert()
    return pytester


@pytest.fixture
def reports(repo, monkeypatch, tmp_path):
    """One real run (a passing and a failing model) that writes every format."""
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    result = repo.runpytest("--inference-check", "--inference-check-json=out/report.json",
                            "--inference-check-junit=out/junit.xml")
    result.assert_outcomes(passed=3, failed=1)
    return result, repo.path / "out", summary


def test_json_report_validates_against_the_shipped_schema(reports):
    _, out, _ = reports
    report = json.loads((out / "report.json").read_text())
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    assert report["schema"] == "inferencecheck-report/1"
    assert report["torch"] and report["executorch"] and report["host"]["machine"]
    by = {(r["model"], r["target"]): r for r in report["results"]}
    assert set(by) == {("clean", "mac"), ("clean", "edge"), ("breaks", "mac"),
                       ("breaks", "server-x86-cpp")}
    failed = by[("breaks", "server-x86-cpp")]
    assert failed["outcome"] == "failed" and failed["recommendation"]["row"] == 6
    assert failed["nodeid"] == "test_m.py::test_breaks[server-x86-cpp]"
    assert failed["graph_breaks"]["breaks"][0]["line"] == line_of("break one")
    assert by[("clean", "edge")]["executorch"]["delegated_nodes"] > 0


def test_the_schema_rejects_a_broken_report(reports):
    _, out, _ = reports
    report = json.loads((out / "report.json").read_text())
    report["results"][0]["recommendation"]["row"] = 9
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))


def test_junit_has_a_suite_per_target_and_the_facts_per_case(reports):
    _, out, _ = reports
    root = ET.parse(out / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"inferencecheck[mac]", "inferencecheck[edge]",
                           "inferencecheck[server-x86-cpp]"}
    cpp_case = suites["inferencecheck[server-x86-cpp]"].find("testcase")
    assert cpp_case.get("name") == "test_m.py::test_breaks[server-x86-cpp]"
    facts = cpp_case.find("system-out").text
    assert "row: 6\ntechnology: aoti-cpp\ngraph_breaks: 1\n" in facts
    failure = cpp_case.find("failure")
    assert "row 6, stage graph_breaks" in failure.get("message")
    assert "what to do:" in failure.text
    mac = {c.get("name"): c for c in suites["inferencecheck[mac]"].iter("testcase")}
    clean = mac["test_m.py::test_clean[mac]"]
    assert clean.find("failure") is None and "max_abs_err: 0\n" in clean.find("system-out").text
    assert root.get("tests") == "4" and root.get("failures") == "1"


def test_junit_validates_against_jenkins_junit_10_xsd(reports):
    import xmlschema

    _, out, _ = reports
    schema = xmlschema.XMLSchema(str(Path(__file__).resolve().parents[2] / "junit-10.xsd"))
    schema.validate(str(out / "junit.xml"))
    times = [c.get("time") for c in ET.parse(out / "junit.xml").getroot().iter("testcase")]
    assert all(len(t.partition(".")[2]) == 3 for t in times)  # rounded, not 2.7998000000000003


def test_github_annotations_and_step_summary(reports):
    result, _, summary = reports
    out = result.stdout.str()
    line = line_of("break one")
    assert (f"::error file=mymodels.py,line={line},title=graph break [GB0170] in breaks on "
            "server-x86-cpp%2C row 6 (aoti-cpp)::") in out
    # the same break is only a warning where the table allows breaks (row 8 on mac)
    assert f"::warning file=mymodels.py,line={line},title=graph break [GB0170] in breaks on mac" \
        in out
    text = summary.read_text()
    assert text.startswith("### pytest-inferencecheck")
    chart = text.split("```mermaid\n", 1)[1].split("```", 1)[0]  # eager vs artifact, per model
    assert chart.startswith("xychart-beta\n") and '"clean: artifact (bars) vs eager (line), ms"' \
        in chart
    assert 'x-axis ["mac (proxy)", "edge"]' in chart and "    bar [" in chart
    assert "| breaks | server-x86-cpp | 6 | aoti-cpp |" in text


def test_no_annotations_outside_github(repo, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = repo.runpytest("--inference-check")
    result.assert_outcomes(passed=3, failed=1)  # the checks ran and failed where they should
    assert "graph break" in result.stdout.str()
    assert "::error" not in result.stdout.str() and "::warning" not in result.stdout.str()


def test_workflow_command_escaping():
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert command("error", "x\ny", file="a,b.py", line=3, col=2, title="t: u") == \
        "::error file=a%2Cb.py,line=3,col=2,title=t%3A u::x%0Ay"
    assert command("warning", "m") == "::warning::m"


# -- baselines --------------------------------------------------------------------------
def run_breaks(repo, monkeypatch, breaks: int, *args: str):
    monkeypatch.setenv("DEMO_BREAKS", str(breaks))
    return repo.runpytest("--inference-check", "-k", "test_breaks and mac", "-p",
                          "no:cacheprovider", "--inference-check-baseline=ic-baseline.json",
                          *args)


@pytest.mark.slow
def test_baseline_regression_improvement_and_update(repo, monkeypatch):
    baseline = repo.path / "ic-baseline.json"
    run_breaks(repo, monkeypatch, 1, "--inference-check-update-baseline").assert_outcomes(passed=1)
    first = baseline.read_text()
    data = json.loads(first)
    assert data == {"schema": "inferencecheck-baseline/2", "checks": {"breaks": {"mac": {
        "count": 1, "test": "test_m.py::test_breaks",
        "breaks": [{"type": "GB0170", "file": "mymodels.py", "function": "forward",
                    "count": 1}]}}}}
    run_breaks(repo, monkeypatch, 1, "--inference-check-update-baseline")
    assert baseline.read_text() == first  # deterministic: a stable diff

    regressed = run_breaks(repo, monkeypatch, 2)
    regressed.assert_outcomes(failed=1)
    regressed.stdout.fnmatch_lines([f"*stage baseline) at mymodels.py:{line_of('break two')}: "
                                    "2 graph breaks, more than the baseline "
                                    "ic-baseline.json accepts; new: [[]GB0059[]] mymodels.py in "
                                    "forward (x1)*",
                                    "*--inference-check-update-baseline*"])

    run_breaks(repo, monkeypatch, 2, "--inference-check-update-baseline").assert_outcomes(passed=1)
    assert json.loads(baseline.read_text())["checks"]["breaks"]["mac"]["count"] == 2
    improved = run_breaks(repo, monkeypatch, 1)
    improved.assert_outcomes(passed=1)
    improved.stdout.fnmatch_lines(["*can be tightened (gone: [[]GB0059[]] mymodels.py in forward "
                                   "(x1))*"])
    run_breaks(repo, monkeypatch, 1, "--inference-check-strict").assert_outcomes(failed=1)


def test_a_broken_baseline_is_a_usage_error(repo):
    (repo.path / "ic-baseline.json").write_text("{not json")
    result = repo.runpytest("--inference-check", "--inference-check-baseline=ic-baseline.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline*ic-baseline.json is not valid JSON*"])


def test_breaks_that_decide_nothing_are_neither_held_to_the_baseline_nor_recorded(tmp_path):
    # Issue 30: on the ExecuTorch rows (non-strict) a Dynamo break is information, so a
    # baseline neither fails it nor records it; the server rows still ratchet the same break.
    import torch

    from pytest_inferencecheck import check
    from pytest_inferencecheck.gate import baseline
    from pytest_inferencecheck.gate.verdict import Gate, decide

    import models

    def run(target: str, **options):
        r = check(models.CompileDisabledMask(), (torch.randn(2, 4, 8),), target,
                  level="quick", name="mask", **options)
        r.identity = "mask"
        return r

    mobile, server, strict = run("mobile-android"), run("server-x86-python"), \
        run("edge", strict_export=True)
    assert (mobile.breaks_decide, server.breaks_decide, strict.breaks_decide) == \
        (False, True, True)
    gate = Gate(baseline_path=tmp_path / "b.json", baseline_data=baseline.empty(),
                root=tmp_path)
    decide(mobile, gate)
    assert not [f for f in mobile.failures if f.stage == "baseline"]
    decide(server, gate)
    assert [f.stage for f in server.failures] == ["baseline"]  # no entry for a deciding break
    stale_entry = {"checks": {"mask": {"mobile-android": {"count": 1, "breaks": []}}}}
    data = baseline.merged(stale_entry, [mobile, server], tmp_path)
    assert set(data["checks"]["mask"]) == {"server-x86-python"}  # the ET entry is dropped
