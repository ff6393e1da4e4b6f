"""The HTML page: rendered from fixture results of every kind, read back with an HTML parser.

What a browser makes of it (deep links, viewports) is `tests/e2e/test_html_browser.py`."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_inferencecheck.recommendations.decision import Recommendation
from pytest_inferencecheck.reporters import html, json_report
from pytest_inferencecheck.result import (
    CheckResult,
    ExportFacts,
    ExportIssue,
    Failure,
    Fallback,
    GraphBreak,
    Latency,
    Mismatch,
    Numerics,
    Stage,
    Use,
    crashed,
)

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "source", "wbr", "area", "base"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.content: list[str | Node] = []  # text and elements, in document order

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def own_text(self) -> str:
        return "".join(c for c in self.content if isinstance(c, str))

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.classes)]


class Dom(HTMLParser):
    """A strict little tree builder: every opened element must be closed, in order."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root
        self.feed(text)
        self.close()
        assert self.cur is self.root, f"<{self.cur.tag}> is never closed"

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        self.cur.content.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        self.cur.content.append(node)

    def handle_endtag(self, tag):
        assert self.cur.tag == tag, f"</{tag}> closes <{self.cur.tag}>"
        self.cur = self.cur.parent

    def handle_data(self, data):
        self.cur.content.append(data)

    def by_id(self) -> dict[str, Node]:
        ids = [n.attrs["id"] for n in self.root.iter() if n.attrs.get("id")]
        assert len(ids) == len(set(ids)), "ids are unique"
        return {n.attrs["id"]: n for n in self.root.iter() if n.attrs.get("id")}


def _result(model: str, target: str, *, nodeid: str | None = None, row: int = 3,
            failures: list[Failure] | None = None, **kw) -> CheckResult:
    r = CheckResult(model=model, target=target, nodeid=nodeid or f"test_m.py::test_{model}"
                    f"[{target}]", recommendation=Recommendation(row, "aoti-python", None,
                                                                 "server, no graph break"),
                    failures=failures or [], **kw)
    r.stages = kw.get("stages") or [Stage("eager", "passed", 0.2),
                                     Stage("aoti_compile", "passed", 12.5, "built")]
    return r


def every_kind(tmp_path: Path) -> list[CheckResult]:
    """A passed, failed, skipped, xfailed, quick-level and crashed result, a deviation, an
    ExecuTorch one, a numerics mismatch, and one with 50 breaks in a real source file."""
    source = tmp_path / "user_model.py"
    source.write_text("".join(f"line_{i} = {i}\n" for i in range(1, 80)))
    breaks = [GraphBreak("GB0001", "print", f"print() call #{i}", str(source), i + 10, "forward",
                         True, "remove the print") for i in range(50)]
    passed = _result("bert", "server-x86-python", graph_breaks=[],
                     numerics=Numerics(True, 1e-6, 2e-6, 1e-4, 1e-4, compared=3),
                     latency=Latency(2.0, 0.5, load=1.0),
                     artifacts=[Use("aoti", "a" * 32, "reused", 2_000_000)])
    failed = _result("ranker", "server-x86-cpp", row=6, graph_breaks=breaks, failures=[
        Failure("graph_breaks", "50 graph breaks; row 6 needs none", "remove them",
                str(source), 11)])
    skipped = _result("cnn", "edge", skip_reason="ExecuTorch is not installed")
    xfailed = _result("ranker", "server-x86-python", failures=[Failure("run", "boom")])
    xfailed.expected_failure = True
    quick = _result("bert", "server-x86-cpp", row=6, level="quick", graph_breaks=[],
                    export=ExportFacts(False, False, [ExportIssue("data-dependent", "u0 > 0",
                                                                  None, None, "torch._check")]))
    deviating = _result("cnn", "server-x86-python", deviation="declared 'eager' but row 3")
    mismatch = _result("cnn", "mac", row=8, numerics=Numerics(
        False, 0.5, 0.1, 1e-4, 1e-4, compared=2,
        mismatches=[Mismatch("output[0]", "values differ", 0.5, 0.1)]), failures=[
        Failure("compare", "output[0] differs")])
    et = _result("cnn", "mobile-android", row=1, stages=[
        Stage("eager", "passed", 0.1), Stage("lower", "passed", 3.0), Stage("to_executorch",
                                                                             "passed", 1.0)],
        artifacts=[Use("executorch", "e" * 32, "rebuilt", 40960, "the entry was corrupt")],
        executorch={
        "partitioners": ["xnnpack"], "delegated_nodes": 9, "non_delegated_nodes": 3,
        "delegated_subgraphs": 1, "delegation": 0.75, "pte_bytes": 40960,
        "ops_not_delegated": {"aten.gelu.default": 2, "aten.index.Tensor": 1}})
    dead = crashed("test_m.py::test_gpt2[server-x86-python]", "server-x86-python",
                   "the worker died (signal 9)")
    return [passed, failed, skipped, xfailed, quick, deviating, mismatch, et, dead]


def test_the_matrix_shows_every_check_and_links_to_its_card(tmp_path):
    results = every_kind(tmp_path)
    dom = Dom(html.render(results))
    ids = dom.by_id()
    (matrix,) = dom.root.find_all("table", "matrix")
    heads = [th.text() for th in matrix.find_all("th") if th.attrs.get("scope") == "col"]
    assert heads == ["check", "server-x86-python", "server-x86-cpp", "edge", "mac",
                     "mobile-android"]
    links = matrix.find_all("a", "cell")
    assert len(links) == len(results)  # one cell per check, none lost, none doubled
    cards = dom.root.find_all("article", "card")
    assert len(cards) == len(results)
    for link in links:
        card = ids[link.attrs["href"][1:]]
        assert card.tag == "article"
        word = link.text().split(" · ")[0]
        assert word.split()[0] in ("passed", "failed", "skipped")  # a word, not colour alone
        assert word in card.find_all(cls="badge")[0].text()
    words = {a.attrs["href"]: a.text() for a in links}
    assert words["#test_m.py::test_ranker/server-x86-python"].startswith("failed (xfail)")
    assert words["#test_m.py::test_bert/server-x86-cpp"] == "passed (quick) · row 6"
    assert "row" not in words["#test_m.py::test_gpt2/server-x86-python"]  # crashed: no row


def test_cards_tell_each_checks_story(tmp_path, monkeypatch):
    monkeypatch.delenv("INFERENCECHECK_QUIET_LOAD", raising=False)  # the default noise rule
    dom = Dom(html.render(every_kind(tmp_path)))
    ids = dom.by_id()
    failed = ids["test_m.py::test_ranker/server-x86-cpp"]
    brks = failed.find_all("div", "brk")
    assert len(brks) == 50
    first_src = brks[0].find_all("div", "src")[0]
    hit = [s for s in first_src.find_all("span") if "hit" in s.classes]
    assert len(hit) == 1 and hit[0].text() == "10line_10 = 10"  # line number, then the line
    assert len(first_src.find_all("span", "no")) == 7  # three lines either side
    assert "Failed at stage graph_breaks" in failed.text() and "remove them" in failed.text()
    timeline = failed.find_all("ol", "timeline")[0]
    stages = [(li.find_all("span", "mono")[0].own_text().strip(),
               [m.text() for m in li.find_all("span", "mark")]) for li in timeline.find_all("li")]
    assert stages == [("eager", []), ("aoti_compile", [])]  # no store entry for this check

    passed = ids["test_m.py::test_bert/server-x86-python"]
    (svg,) = passed.find_all("svg")
    assert "eager 2.000 ms" in svg.attrs["aria-label"]
    assert "4.00x eager's speed" in passed.text()
    assert "kept 100% of the CPU busy" in passed.text()  # latency noise is said
    assert "reused" in passed.text() and "1.9 MiB" in passed.text()
    marks = [m.text() for m in passed.find_all("span", "mark")]
    assert marks == ["reused"]  # the AOTI stage's store entry, marked on the timeline

    et = ids["test_m.py::test_cnn/mobile-android"]
    assert "9 of 12 nodes delegated (75%)" in et.text()
    ops = et.find_all("table", "ops")[0]
    assert [td.text() for td in ops.find_all("td", "mono")] == ["aten.gelu.default",
                                                              "aten.index.Tensor"]
    assert [m.text() for m in et.find_all("span", "mark")] == ["rebuilt", "rebuilt"]
    assert "rebuilt (the entry was corrupt)" in " ".join(et.text().split())
    quick = ids["test_m.py::test_bert/server-x86-cpp"]
    assert "[data-dependent] u0 > 0" in quick.text() and not quick.find_all("svg")
    assert "Deviation from the table: declared 'eager' but row 3" in " ".join(
        ids["test_m.py::test_cnn/server-x86-python"].text().split())
    mismatch = ids["test_m.py::test_cnn/mac"]
    assert "MISMATCH over 2 output leaves" in mismatch.text()
    dead = ids["test_m.py::test_gpt2/server-x86-python"]
    assert "Failed at stage crashed" in dead.text() and "No row was decided" in dead.text()
    skipped = ids["test_m.py::test_cnn/edge"]
    assert "Skipped: ExecuTorch is not installed" in " ".join(skipped.text().split())


def test_user_strings_render_as_text_never_as_markup(tmp_path):
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    r = _result(evil, "server-x86-python", nodeid=f"test_m.py::test_{evil}[server-x86-python]",
                failures=[Failure("eager", evil, evil)])
    r.notes.append(evil)
    page = html.render([r])
    dom = Dom(page)
    scripts = dom.root.find_all("script")
    assert len(scripts) == 1 and "alert" not in scripts[0].text()  # only the page's own
    assert not dom.root.find_all("img")
    assert evil in dom.root.text()  # shown, as text


def test_the_page_is_self_contained(tmp_path):
    page = html.render(every_kind(tmp_path))
    dom = Dom(page)
    for node in dom.root.iter():
        for attr in ("src", "href"):
            value = node.attrs.get(attr)
            assert value is None or value.startswith("#"), f"<{node.tag} {attr}={value}>"
    assert not dom.root.find_all("link")
    (script,) = dom.root.find_all("script")
    assert len(script.text().encode()) < 2048
    assert dom.root.find_all("html")[0].attrs["lang"] == "en"
    assert 'name="color-scheme" content="light dark"' in page
    assert "prefers-color-scheme: dark" in page and "max-width: 600px" in page


def test_the_totals_count_an_expected_failure_apart(tmp_path):
    dom = Dom(html.render(every_kind(tmp_path)))
    verdict = " ".join(dom.root.find_all("p", "verdict")[0].text().split())
    assert verdict.startswith("9 checks: 3 failed, 4 passed, 1 xfailed (expected failures: the "
                              "gate passes them), 1 skipped; 1 deviation from the table.")
    assert dom.root.find_all("title")[0].text() == "Inference check: 9 checks, 3 failed"


def test_a_row_5_card_says_what_moved_it_and_what_would_put_it_on_row_3():
    r = _result("gpt2", "server-x86-python", row=5, fallback=Fallback(
        "aoti-python", "export", "Found DynamicCache in output", "modeling_gpt2.py:509",
        "make torch.export capture the model, and AOTInductor (Python) serves it, row 3: "
        "use_cache=False"))
    dom = Dom(html.render([r]))
    card = dom.by_id()["test_m.py::test_gpt2/server-x86-python"]
    text = " ".join(card.text().split())
    assert "Why not aoti-python: the export stage failed at modeling_gpt2.py:509" in text
    assert "To reach row 3: make torch.export capture the model" in text
    (cell,) = [a for a in dom.root.find_all("a") if "cell" in a.classes]
    assert "AOTInductor cannot serve it" in cell.attrs["aria-label"]


def test_an_empty_run_and_an_interrupted_one_say_so():
    assert "No check ran." in Dom(html.render([])).root.text()
    r = _result("bert", "mac", row=8)
    text = " ".join(Dom(html.render([r], interrupted=True)).root.text().split())
    assert "The run was interrupted" in text


def test_a_page_is_made_from_a_json_report_with_the_runs_facts(tmp_path):
    results = every_kind(tmp_path)
    report = tmp_path / "r.json"
    json_report.write(report, results)
    data = json.loads(report.read_text())
    data["torch"], data["host"] = "2.10.0", {"machine": "aarch64", "cuda": True}
    report.write_text(json.dumps(data))
    page = tmp_path / "page.html"
    run = subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "report", str(report),
                          "--html", str(page)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"HTML report: {page} ({len(results)} checks)" in run.stdout
    dom = Dom(page.read_text())
    facts = {dt.text(): dd.text() for dt, dd in zip(dom.root.find_all("dt"), dom.root.find_all("dd"))}
    assert facts["torch"] == "2.10.0" and facts["host"] == "aarch64, CUDA"  # the run's, not ours
    assert len(dom.root.find_all("a", "cell")) == len(results)
    assert Dom(html.render(results)).by_id().keys() == dom.by_id().keys()


def test_a_bad_field_of_a_json_report_is_named(tmp_path):
    # Issue 31: a malformed field gave "type str doesn't define __round__" and no field
    from pytest_inferencecheck.reporters.json_report import build

    good = build([_result("m", "mac", row=8)])
    good["results"][0]["latency"] = {"eager_ms": "fast", "artifact_ms": 1.0}
    report = tmp_path / "r.json"
    report.write_text(json.dumps(good))
    run = subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "report", str(report),
                          "--html", str(tmp_path / "p.html")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2, run.stderr
    assert 'results[0].latency.eager_ms is "fast", not number or null' in run.stderr


@pytest.mark.parametrize("content, says", [
    (None, "does not exist"),
    ("{\"schema\": \"inferencecheck-report/1\", \"results\": [", "is not JSON"),
    ("{\"schema\": \"something-else\"}", "is not an inferencecheck-report/1 report"),
    ("{\"schema\": \"inferencecheck-report/1\", \"results\": [{\"target\": \"mac\"}]}",
     "results[0] has no 'nodeid'"),
])
def test_a_bad_json_report_is_a_usage_error(tmp_path, content, says):
    report = tmp_path / "r.json"
    if content is not None:
        report.write_text(content)
    run = subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "report", str(report),
                          "--html", str(tmp_path / "p.html")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and says in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "p.html").exists()


def test_the_team_store_traffic_is_in_the_header_the_summary_and_the_step_summary():
    """Issue 33, item 7: entries fetched from the team store and published to it, and the bytes
    moved each way, wherever the run is summed up; nothing about it when no remote moved any."""
    from pytest_inferencecheck.reporters import github, summary

    fetched = _result("cnn", "server-x86-python", artifacts=[
        Use("aoti", "a" * 32, "fetched", 3 * 2**20), Use("run", "b" * 32, "fetched", 2**20)])
    built = _result("cnn", "mobile-android", artifacts=[
        Use("executorch", "c" * 32, "built", 2**20, published=2**20),
        Use("run", "d" * 32, "built", 2**10, published=None)],
        notes=["the team store s3://t/p is not used for the rest of this run (x)"])
    text = " ".join(Dom(html.render([fetched, built])).root.text().split())
    assert "team store2 fetched (4.0 MiB down), 1 published (1.0 MiB up)" in text  # dt, dd
    assert "artifact store2 built team" in text  # fetched entries are the team line's
    noted = _result("bert", "mac", notes=built.notes)
    lines = summary.team_lines([fetched, built, noted], "s3://t/p")
    assert lines[0] == ("team store s3://t/p: 2 entries fetched (4.0 MiB down), 1 published "
                        "(1.0 MiB up)")
    assert lines[1:] == ["  note: the team store s3://t/p is not used for the rest of this run "
                         "(x)"]  # once, however many checks carry it
    assert summary.store_line([fetched, built], "/s") == (
        "artifact store: 2 built in /s")  # fetched entries are the team line's
    assert "**Team store**: 2 entries fetched (4.0 MiB down), 1 published (1.0 MiB up)" in \
        github.step_summary([fetched, built])
    plain = _result("cnn", "mac", artifacts=[Use("aoti", "a" * 32, "reused", 10)])
    assert "team store" not in Dom(html.render([plain])).root.text()
    assert "Team store" not in github.step_summary([plain])
    assert summary.team_lines([plain], None) == []
