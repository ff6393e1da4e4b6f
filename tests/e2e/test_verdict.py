"""One verdict everywhere (issue 10): the gate, its reports, its ratchet and its flags agree.

Real pytest runs (pytester) of throwaway repositories on the cheap `mac` target (eager), real
files, real concurrent processes for the baseline.
"""

from __future__ import annotations

import json
import multiprocessing
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_inferencecheck.gate import baseline
from pytest_inferencecheck.result import CheckResult, GraphBreak

from filesystems import fill, full_disk, read_only

MODELS = '''
import torch
from torch import nn

class Chatty(nn.Module):
    def __init__(self, chatty):
        super().__init__()
        self.chatty = chatty
    def forward(self, x):
        if self.chatty:
            print("hello")  # chatty break
        return x * 2

class Chattier(Chatty):
    pass

class Raises(nn.Module):
    def forward(self, x):
        return torch.cat([x, x], dim=7)  # eager raises here

class NaNs(nn.Module):
    def forward(self, x):  # eager outputs NaN
        return x * float("nan")
'''


def make_tests(*extra: str) -> str:
    return "\n".join(['''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac")
def test_quiet(inference_check):
    inference_check(mymodels.Chatty(False), (torch.ones(3),))

@pytest.mark.deploy_target("mac")
def test_chatty(inference_check):
    inference_check(mymodels.Chatty(True), (torch.ones(3),))
''', *extra])


@pytest.fixture
def repo(pytester):
    pytester.makepyfile(mymodels=MODELS, test_m=make_tests())
    pytester.syspathinsert()
    return pytester


def run(repo, *args: str, subprocess: bool = False):
    """The plugin in this process (a user's pytest run is one process too), or in a fresh one
    where the run must end in a way this process cannot host (an interrupt)."""
    runpytest = repo.runpytest_subprocess if subprocess else repo.runpytest
    return runpytest("-p", "no:cacheprovider", "--inference-check", *args)


BASELINE = "--inference-check-baseline=ic-baseline.json"
UPDATE = "--inference-check-update-baseline"


# -- 1. strict: every output says failed --------------------------------------------------------
DEVIATES = '''
import pytest, torch, mymodels

@pytest.mark.deploy_target(
    "mac",
    uses="aoti-python")
def test_declared(inference_check):
    inference_check(mymodels.Chatty(False), (torch.ones(3),))
'''


def test_under_strict_a_deviation_fails_in_every_output(pytester, monkeypatch, tmp_path):
    pytester.makepyfile(mymodels=MODELS, test_d=DEVIATES)
    pytester.syspathinsert()
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run(pytester, "--inference-check-strict", "--inference-check-json=r.json",
                 "--inference-check-junit=r.xml")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "Chatty on mac [proxy]: row 8 -> eager: FAILED" in out and ": PASSED" not in out
    report = json.loads((pytester.path / "r.json").read_text())
    (r,) = report["results"]
    assert r["outcome"] == "failed" and r["failures"][0]["stage"] == "deviation"
    marker_line = DEVIATES.lstrip("\n").splitlines().index("@pytest.mark.deploy_target(") + 1
    assert r["source"] == {"file": str(pytester.path / "test_d.py"), "line": marker_line}
    case = ET.parse(pytester.path / "r.xml").getroot().find(".//testcase")
    assert "stage deviation" in case.find("failure").get("message")
    assert f"::error file=test_d.py,line={marker_line},title=deviation from the table" in out
    assert "| failed" in summary.read_text() and "passed (deviation)" not in summary.read_text()


def test_without_strict_a_deviation_warns_at_the_marker(pytester, monkeypatch):
    pytester.makepyfile(mymodels=MODELS, test_d=DEVIATES)
    pytester.syspathinsert()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = run(pytester, "--inference-check-json=r.json")
    result.assert_outcomes(passed=1, warnings=1)
    assert "test_d.py:3: DeploymentDeviation" in result.stdout.str()
    assert "::warning file=test_d.py,line=3,title=deviation from the table" in result.stdout.str()
    (r,) = json.loads((pytester.path / "r.json").read_text())["results"]
    assert r["outcome"] == "passed" and r["deviation"]


# -- 2. the baseline is keyed by identity ------------------------------------------------------
def test_two_instances_of_one_class_have_their_own_entries(repo):
    run(repo, BASELINE, UPDATE).assert_outcomes(passed=2)
    data = json.loads((repo.path / "ic-baseline.json").read_text())
    assert data["schema"] == "inferencecheck-baseline/2"
    assert set(data["checks"]) == {"test_m.py::test_quiet", "test_m.py::test_chatty"}
    assert data["checks"]["test_m.py::test_quiet"]["mac"]["count"] == 0
    assert data["checks"]["test_m.py::test_chatty"]["mac"]["count"] == 1
    run(repo, BASELINE).assert_outcomes(passed=2)  # what was just accepted passes


def test_a_check_missing_from_the_baseline_with_breaks_is_a_regression(repo):
    run(repo, BASELINE, UPDATE).assert_outcomes(passed=2)
    repo.makepyfile(test_m=make_tests('''
@pytest.mark.deploy_target("mac")
def test_renamed(inference_check):
    inference_check(mymodels.Chattier(True), (torch.ones(3),))
'''))
    result = run(repo, BASELINE)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*stage baseline*the baseline ic-baseline.json has no entry for "
                                 "test_m.py::test_renamed on mac; new: *"])
    run(repo, BASELINE, UPDATE).assert_outcomes(passed=3)
    run(repo, BASELINE).assert_outcomes(passed=3)


def test_an_explicit_name_is_the_identity(repo):
    repo.makepyfile(test_m='''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac")
def test_a(inference_check):
    inference_check(mymodels.Chatty(True), (torch.ones(3),), name="greeter")
''')
    run(repo, BASELINE, UPDATE).assert_outcomes(passed=1)
    data = json.loads((repo.path / "ic-baseline.json").read_text())
    assert data["checks"]["greeter"]["mac"]["test"] == "test_m.py::test_a"


def test_stale_entries_are_reported_and_dropped_on_update(repo):
    run(repo, BASELINE, UPDATE).assert_outcomes(passed=2)
    repo.makepyfile(test_m='''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac")
def test_quiet(inference_check):
    inference_check(mymodels.Chatty(False), (torch.ones(3),))
''')
    result = run(repo, BASELINE)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ic-baseline.json: 1 stale entries (their tests are gone): "
                                 "test_m.py::test_chatty on mac (from test_m.py::test_chatty)*"])
    run(repo, BASELINE, UPDATE).stdout.fnmatch_lines(["*dropped 1 stale entries*"])
    data = json.loads((repo.path / "ic-baseline.json").read_text())
    assert set(data["checks"]) == {"test_m.py::test_quiet"}


def test_entries_of_files_not_collected_are_not_stale(repo):
    repo.makepyfile(test_other=make_tests().replace("test_quiet", "test_other_quiet")
                    .replace("test_chatty", "test_other_chatty"))
    run(repo, BASELINE, UPDATE).assert_outcomes(passed=4)
    result = run(repo, BASELINE, "test_m.py")
    result.assert_outcomes(passed=2)
    assert "stale entries" not in result.stdout.str()


def _update_many(path: str, worker: int, rounds: int) -> None:
    root = Path(path).parent
    for i in range(rounds):
        r = CheckResult(model="m", target="mac", identity=f"w{worker}-{i}")
        r.graph_breaks = [GraphBreak("GB1", "b", "r", str(root / "m.py"), 1, "f", True, "h")]
        baseline.update(Path(path), [r], root)


def test_concurrent_updates_lose_no_entry(tmp_path):
    path = tmp_path / "ic-baseline.json"
    workers, rounds = 4, 15
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_update_many, args=(str(path), w, rounds)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    data = baseline.load(path)
    assert len(data["checks"]) == workers * rounds


def test_a_corrupt_baseline_is_an_error_and_can_be_regenerated(repo):
    (repo.path / "ic-baseline.json").write_text("{not json")
    bad = run(repo, BASELINE)
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*ic-baseline.json is not valid JSON*regenerate it with "
                              "--inference-check-update-baseline*"])
    regen = run(repo, BASELINE, UPDATE)
    regen.assert_outcomes(passed=2)
    regen.stdout.fnmatch_lines(["*baseline updated*the old file was replaced*"])
    run(repo, BASELINE).assert_outcomes(passed=2)


def test_a_malformed_entry_is_a_clear_error_not_a_keyerror(repo):
    (repo.path / "ic-baseline.json").write_text(json.dumps({
        "schema": "inferencecheck-baseline/2",
        "checks": {"test_m.py::test_chatty": {"mac": {"count": 1}}}}))
    result = run(repo, BASELINE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the entry for 'test_m.py::test_chatty' on 'mac' must be an "
                                 "object with a 'breaks' list*"])
    assert "KeyError" not in result.stdout.str() + result.stderr.str()


def test_a_baseline_path_that_is_a_directory_is_a_usage_error(repo):
    (repo.path / "ic-baseline.json").mkdir()
    for args in ((BASELINE,), (BASELINE, UPDATE)):
        result = run(repo, *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, args
        result.stderr.fnmatch_lines(["*baseline*ic-baseline.json is a directory*"])
        assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


# -- 3. flags that do what they say --------------------------------------------------------------
def test_only_runs_the_checks(repo):
    repo.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = repo.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check-only")
    result.assert_outcomes(passed=2, deselected=1)


def test_the_hook_exits_0_in_a_repository_without_models(pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--inference-check",
                                           "--inference-check-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["inferencecheck: nothing to check*"])


# -- 4. config parsed, not grepped ---------------------------------------------------------------
FACTORY = '''
import torch, mymodels
def make():
    return mymodels.Chatty(False), (torch.ones(3),)
'''


@pytest.mark.parametrize("name, spelling", [
    ("inline", '[tool.inferencecheck]\n'
               'models = { inline = { factory = "factories:make", targets = ["mac"] } }'),
    ("dotted", '[tool.inferencecheck]\nmodels.dotted.factory = "factories:make"\n'
               'models.dotted.targets = ["mac"]'),
    ("quoted", '[tool."inferencecheck".models."quoted"]\nfactory = "factories:make"\n'
               'targets = ["mac"]'),
])
def test_every_toml_spelling_of_models_is_collected(pytester, name, spelling):
    pytester.makepyfile(mymodels=MODELS, factories=FACTORY)
    pytester.makefile(".toml", pyproject=spelling)
    pytester.syspathinsert()
    result = run(pytester, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*pyproject.toml::{name}*mac*PASSED*"])


def test_a_config_entry_that_cannot_be_collected_is_an_error(pytester):
    pytester.makepyfile(mymodels=MODELS)
    pytester.makefile(".toml", pyproject='[tool.inferencecheck]\nmodels = { m = { factory = '
                                         '"nowhere:make", targets = ["mac"] } }')
    result = run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error
    result.stdout.fnmatch_lines(["*cannot import 'nowhere'*"])


# -- 5. reports that survive -------------------------------------------------------------------------
def test_a_report_that_cannot_be_written_loses_nothing_else(repo):
    with read_only(repo.path / "locked"):
        result = run(repo, "--inference-check-json=locked/r.json",
                     "--inference-check-junit=r.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the gate must not go green without it
    result.stdout.fnmatch_lines(["*ERROR: cannot write the JSON report *locked/r.json*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*model*target*row*", "*JUnit report:*r.xml*"])
    assert ET.parse(repo.path / "r.xml").getroot().get("tests") == "2"


def test_the_html_page_is_written_by_the_end_of_the_run_and_listed(repo):
    repo.makefile(".toml", pyproject='[tool.inferencecheck]\nhtml = "out/page.html"\n')
    (repo.path / "out").mkdir()
    result = run(repo, "--inference-check-json=r.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*JSON report:*r.json*", "*HTML report:*out/page.html*"])
    page = (repo.path / "out" / "page.html").read_text()
    for result_ in json.loads((repo.path / "r.json").read_text())["results"]:
        assert f'id="test_m.py::{result_["nodeid"].split("::")[1].split("[")[0]}/mac"' in page
    assert oct((repo.path / "out" / "page.html").stat().st_mode & 0o777) != "0o600"


def test_an_html_page_that_cannot_be_written_fails_the_run_and_loses_nothing_else(repo):
    with read_only(repo.path / "locked"):
        result = run(repo, "--inference-check-html=locked/page.html",
                     "--inference-check-json=r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*ERROR: cannot write the HTML report *locked/page.html*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert len(json.loads((repo.path / "r.json").read_text())["results"]) == 2


def test_a_full_disk_leaves_the_previous_report_whole(repo):
    with full_disk(repo.path / "out") as out:
        run(repo, "--inference-check-junit=out/r.xml").assert_outcomes(passed=2)
        before = (out / "r.xml").read_bytes()
        fill(out)
        result = run(repo, "--inference-check-junit=out/r.xml")
        assert (out / "r.xml").read_bytes() == before
        ET.fromstring(before)  # still whole XML
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*ERROR: cannot write the JUnit report *out/r.xml*"])


def test_a_read_only_step_summary_does_not_turn_a_green_run_red(repo, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with read_only(repo.path / "gh", populate=_with_file(repo.path / "gh-src", "summary.md")):
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(repo.path / "gh" / "summary.md"))
        result = run(repo)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["warning: cannot append the step summary*"])


def _with_file(folder: Path, name: str) -> Path:
    folder.mkdir()
    (folder / name).write_text("")
    return folder


def test_an_interrupted_run_marks_its_reports(repo):
    repo.makepyfile(test_m=make_tests('''
def test_z_interrupt():
    raise KeyboardInterrupt
'''))
    result = run(repo, "--inference-check-json=r.json", "--inference-check-junit=r.xml",
                 subprocess=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    report = json.loads((repo.path / "r.json").read_text())
    assert report["interrupted"] is True and len(report["results"]) == 2
    root = ET.parse(repo.path / "r.xml").getroot()
    assert {p.get("name"): p.get("value") for p in root.iter("property")}["interrupted"] == "true"
    result.stdout.fnmatch_lines(["*interrupted: 2 checks finished before the interrupt*"])


# -- 6. locations ---------------------------------------------------------------------------------
@pytest.mark.parametrize("model, line_text", [
    ("Raises", "        return torch.cat([x, x], dim=7)  # eager raises here"),  # its own frame
    ("NaNs", "    def forward(self, x):  # eager outputs NaN"),  # raises nothing: the forward
])
def test_an_eager_failure_points_at_the_users_code(repo, monkeypatch, model, line_text):
    repo.makepyfile(test_m=f'''
import pytest, torch, mymodels

@pytest.mark.deploy_target("mac")
def test_eager(inference_check):
    inference_check(mymodels.{model}(), (torch.ones(3),))
''')
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = run(repo, "--inference-check-json=r.json")
    result.assert_outcomes(failed=1)
    line = MODELS.lstrip("\n").splitlines().index(line_text) + 1
    (r,) = json.loads((repo.path / "r.json").read_text())["results"]
    assert (r["failures"][0]["stage"], r["failures"][0]["line"]) == ("eager", line)
    result.stdout.fnmatch_lines([f"*FAILED (row 8, stage eager) at mymodels.py:{line}: *"])
    assert f"::error file=mymodels.py,line={line},title={model} on mac" in result.stdout.str()


def test_a_break_inside_library_code_is_located_there_and_counted_both_ways(tmp_path):
    """Longformer breaks inside transformers, where no user frame is above it: the report names
    the library frame, and carries torch's own count (3) beside the distinct sites (1)."""
    import torch
    from transformers import LongformerConfig, LongformerModel

    from pytest_inferencecheck import check
    from pytest_inferencecheck.reporters import summary
    from pytest_inferencecheck.reporters.github import annotations

    config = LongformerConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=37, attention_window=[4], vocab_size=99,
                              max_position_embeddings=64)
    torch.manual_seed(0)
    model, ids = LongformerModel(config).eval(), (torch.randint(0, 99, (1, 16)),)
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model)(*ids)
    torch._dynamo.reset()
    r = check(model, ids, "mac", name="longformer", store=tmp_path)
    gb = r.to_dict()["graph_breaks"]
    assert gb["explain_count"] == explained.graph_break_count == 3
    assert gb["count"] == 1 and gb["graphs"] == explained.graph_count
    (b,) = r.graph_breaks
    assert b.file is None and "transformers/models/longformer/modeling_longformer.py:" in b.where
    assert b.where.endswith("in forward (library code)")
    assert "<unknown location>" not in "\n".join(summary.render([r]))
    assert any("library code: " in line for line in annotations([r], root=Path.cwd()))
    assert summary.breaks_cell(r) == "1 (explain 3)"
    # the notation is explained where it appears (issue 31)
    assert any("`(explain N)`: the breaks as torch._dynamo.explain counts them" in line
               for line in summary.render([r]))
    key = baseline.key_of(b, Path.cwd())
    assert key[1].startswith("transformers/models/longformer/") and key[2] == "forward"


@pytest.mark.parametrize("nodeid, target, test", [
    ("t.py::test_x[mac]", "mac", "t.py::test_x"),
    ("t.py::test_x[server-x86-python-small]", "server-x86-python", "t.py::test_x[small]"),
    ("t.py::test_x[small-server-x86-cpp]", "server-x86-cpp", "t.py::test_x[small]"),
    ("t.py::test_x[a-edge-b]", "edge", "t.py::test_x[a-b]"),
    ("t.py::test_x[-1-mac]", "mac", "t.py::test_x[-1]"),
])
def test_a_checks_test_id_is_its_node_id_without_the_target(nodeid, target, test):
    """The baseline's identity and the crash reports of xdist workers (which only see node ids)
    both read the target out of the parameters the same way."""
    from pytest_inferencecheck.recommendations.table import TARGETS
    from pytest_inferencecheck.support.nodeids import target_in, without_target

    assert without_target(nodeid, target) == test
    assert target_in(nodeid, TARGETS) == target
    assert target_in("t.py::test_x[other]", TARGETS) is None
    assert target_in("t.py::test_x", TARGETS) is None
