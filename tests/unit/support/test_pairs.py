"""Which ExecuTorch goes with which torch is stated once (`support/pairs.py`): the README, the
`[executorch]` extra, `.ci/constraints.txt` and `.ci/compat` agree with it, and a run says the
pair it used."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from pytest_inferencecheck.config.section import tomllib
from pytest_inferencecheck.support import pairs

ROOT = Path(__file__).resolve().parents[3]


def test_the_readme_states_exactly_the_tested_pairs():
    text = (ROOT / "README.md").read_text()
    table = dict(re.findall(r"^\s*\| (2\.\d+) \| (\d+\.\d+\.\d+) \|\s*$", text, re.MULTILINE))
    assert table == pairs.TESTED
    # the support matrix's rows name the same pairs
    for torch_version, executorch_version in re.findall(
            r"^\| (2\.\d+\.\d+)[^|]*\| (\d+\.\d+\.\d+) \|", text, re.MULTILINE):
        assert pairs.tested_executorch(torch_version) == executorch_version, torch_version
    assert "picks a working set or refuses" not in text


def test_the_extra_allows_the_releases_tested_with_the_torch_it_allows_and_no_other():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {r.name: r for r in map(Requirement, project["optional-dependencies"]["executorch"])}
    torch_floor = next(Version(s.version) for s in extra["torch"].specifier if s.operator == ">=")
    for torch_minor, executorch_version in pairs.TESTED.items():
        allowed = Version(torch_minor) >= torch_floor
        assert extra["executorch"].specifier.contains(executorch_version) == allowed, \
            (torch_minor, executorch_version)
    newest = max(pairs.TESTED.values(), key=Version)
    bump = Version(newest).release[:1] + (Version(newest).release[1] + 1,)
    assert not extra["executorch"].specifier.contains(".".join(map(str, bump + (0,))))


def test_the_development_pins_are_a_tested_pair():
    pins = dict(re.findall(r"^([\w-]+)==(\S+)$", (ROOT / ".ci/constraints.txt").read_text(),
                           re.MULTILINE))
    assert pairs.tested_executorch(pins["torch"]) == pins["executorch"]


def test_the_compatibility_job_reads_the_pairs_and_hard_codes_none():
    script = (ROOT / ".ci/compat").read_text()
    assert "support/pairs.py" in script
    assert not re.search(r"executorch==\d", script)
    # the snippet it runs, on a bare interpreter (nothing of the package imported)
    snippet = re.search(r"python3 -c '(.*?)' \"\$version\"", script, re.DOTALL).group(1)
    for torch_version, want in [("2.14.1", "executorch==1.5.1"), ("2.9.0", "")]:
        out = subprocess.run([sys.executable, "-S", "-c", snippet, torch_version], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == want


def test_the_pair_line_says_tested_or_warns_with_what_to_install():
    line, tested = pairs.pair_line("2.13.0+cpu", "1.4.1")
    assert tested and line == "torch 2.13.0+cpu + ExecuTorch 1.4.1 (a tested pair)"
    line, tested = pairs.pair_line("2.13.0", "1.5.1")
    assert not tested and "UNTESTED pair" in line
    assert "pip install executorch==1.4.1" in line
    line, tested = pairs.pair_line("2.15.0", "1.6.0")
    assert not tested and "torch 2.15 is not a tested release" in line
    line, tested = pairs.pair_line("2.13.0", None)
    assert tested and "ExecuTorch not installed" in line


def test_a_run_header_names_the_installed_pair(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    on = pytester.runpytest_subprocess("--inference-check", "-p", "no:cacheprovider")
    line, tested = pairs.header()
    assert tested, line  # the development pins are a tested pair
    on.stdout.fnmatch_lines([f"inferencecheck: {line}"])
    off = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert "inferencecheck: torch" not in off.stdout.str()
