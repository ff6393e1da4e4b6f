"""The shipped example repository keeps doing what the README says it does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_inferencecheck.reporters import html

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    """Where the examples' run writes its JSON report and HTML page."""
    return tmp_path_factory.mktemp("examples-reports")


@pytest.fixture(scope="module")
def run(reports) -> subprocess.CompletedProcess:
    """`pytest --inference-check examples/`, the README's main command, in a fresh process,
    with the JSON report and the HTML page (`tests/e2e/test_html_browser.py` opens it)."""
    env = {k: v for k, v in os.environ.items() if k != "INFERENCECHECK"}
    return subprocess.run([sys.executable, "-m", "pytest", "--inference-check", "-p",
                           "no:cacheprovider", str(EXAMPLES),
                           f"--inference-check-json={reports / 'r.json'}",
                           f"--inference-check-html={reports / 'report.html'}"],
                          capture_output=True, text=True, env=env, cwd=EXAMPLES.parent,
                          timeout=1200)


def test_examples_pass_with_the_expected_failures_marked(run):
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    assert "9 passed, 2 xfailed" in run.stdout.splitlines()[-1]


def summary_rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    section = stdout.split("= inference check =")[1].split("\n\n")[0].splitlines()[2:]
    rows = {}
    for line in section:
        cells = line.split()
        target = cells[1]
        rest = cells[3:] if cells[2] == "(proxy)" else cells[2:]
        rows[(cells[0], target)] = rest
    return rows


def test_the_summary_shows_every_row_at_work(run):
    rows = summary_rows(run.stdout)
    expected = {
        ("bert", "mobile-android"): "1", ("cnn", "mobile-ios"): "1", ("cnn", "edge"): "2",
        ("bert", "server-x86-python"): "3", ("cnn_local", "server-x86-python"): "3",
        ("ranker", "server-x86-python"): "4", ("gpt2-cache", "server-x86-python"): "5",
        ("bert", "server-x86-cpp"): "6", ("ranker", "server-x86-cpp"): "6",
        ("gpt2-cache", "server-x86-cpp"): "6", ("cnn_local", "mac"): "8",
    }
    assert {key: cells[0] for key, cells in rows.items()} == expected
    assert rows[("ranker", "server-x86-cpp")][-2:] == ["failed", "(xfail)"]
    assert rows[("ranker", "server-x86-python")][-2:] == ["passed", "(deviation)"]


def test_the_summary_lists_the_deviation_and_breaks_by_location(run):
    out = run.stdout
    assert "deviations from the table:" in out
    assert "test_ranker[server-x86-python]: declared 'aoti-python' but row 4" in out
    assert "graph breaks by location:" in out
    assert "example_models.py:" in out and "(ranker@server-x86-python, ranker@server-x86-cpp)" in out


# -- the HTML page of this run, in a real browser -------------------------------------------------
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]  # a closed network: no lookups at start


def _chromium() -> str:
    """Debian's Chromium (`.ci/run` installs it); a machine without it skips the test, `.ci/run`
    (INFERENCECHECK_REQUIRE_BROWSER=1) fails it."""
    found = os.environ.get("INFERENCECHECK_CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")
    if found:
        return found
    message = "no Chromium on PATH (apt-get install chromium, or set INFERENCECHECK_CHROMIUM)"
    if os.environ.get("INFERENCECHECK_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def browser():
    executable = _chromium()
    from playwright import sync_api  # the test extra
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def test_the_html_page_shows_every_check_and_deep_links_to_a_failed_one(run, reports, browser,
                                                                       tmp_path):
    assert run.returncode == 0, run.stdout[-3000:]
    results = json.loads((reports / "r.json").read_text())["results"]
    url = (reports / "report.html").as_uri()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page.goto(url)
    cells = page.locator("table.matrix a.cell")
    assert cells.count() == len(results) == 11
    shown = {(c.get_attribute("href"), c.inner_text().split(" · ")[0])
             for c in cells.all()}
    for r in results:  # every check, in its words, linked to its card
        href = "#" + html.anchor(r["nodeid"].split("[")[0], r["target"])
        word = r["outcome"] + (" (xfail)" if r["xfail"] else "")
        assert (href, word) in shown, (href, word, shown)
    page.screenshot(path=str(tmp_path / "report-1280.png"))

    # a failed check: its cell, followed with the keyboard, opens and focuses its card
    failed = next(r for r in results if r["outcome"] == "failed")
    href = "#" + html.anchor(failed["nodeid"].split("[")[0], failed["target"])
    page.locator(f'table.matrix a.cell[href="{href}"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"location.hash === {json.dumps(href)}")
    card = page.locator(f'article[id="{href[1:]}"]')
    assert card.evaluate("el => el === document.activeElement")
    box, view = card.bounding_box(), page.viewport_size
    assert box is not None and 0 <= box["y"] < view["height"] / 2  # scrolled into view
    assert "Failed at stage" in card.inner_text()
    assert "What to do" in card.inner_text()
    page.screenshot(path=str(tmp_path / "report-card-1280.png"))

    # the same link opened from outside (an annotation, the step summary) lands on the card
    phone = browser.new_page(viewport={"width": 390, "height": 844}, color_scheme="dark")
    phone.goto(url + href)
    card = phone.locator(f'article[id="{href[1:]}"]')
    assert card.evaluate("el => el === document.activeElement")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"  # the dark scheme is followed
    phone.screenshot(path=str(tmp_path / "report-card-390.png"))
    shots = os.environ.get("INFERENCECHECK_SCREENSHOTS")  # where to keep them (README)
    if shots:
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(shots) / png.name)
