"""The distributions: the sdist holds what its own tests need, the wheel its license and types."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tracked(*paths: str) -> set[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout (an unpacked sdist has no history to compare)")
    out = subprocess.run(["git", "ls-files", *paths], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return {line for line in out.stdout.splitlines() if (ROOT / line).is_file()}


def _build(kind: str, out: Path) -> Path:
    # setuptools' own backend, without isolation: what `python -m build` runs, minus the venv
    code = (f"import setuptools.build_meta as b; print(b.build_{kind}({str(out)!r}))")
    name = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip().splitlines()[-1]
    return out / name


@pytest.mark.slow
def test_the_sdist_holds_every_file_its_tests_need(tmp_path):
    sdist = _build("sdist", tmp_path)
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    needed = _tracked("tests", "examples", "hooks", "benchmarks", ".ci", ".github",
                      "pytest_inferencecheck") | {
        "LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "action.yml",
        ".pre-commit-hooks.yaml"}
    assert needed - names == set()
    assert not [n for n in names if n.endswith((".pt2", ".pte", ".pyc", ".so"))]


@pytest.mark.slow
def test_the_wheel_holds_the_license_the_types_and_the_data_files(tmp_path):
    wheel = _build("wheel", tmp_path)
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = whl.read(meta).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {"pytest_inferencecheck/py.typed", "pytest_inferencecheck/checking/runners/aoti_runner.cpp",
            "pytest_inferencecheck/reporters/templates/report.html.j2"} <= names  # the HTML page
    assert any(n.startswith("pytest_inferencecheck/schema/") for n in names)
    assert not any(n.startswith("tests/") for n in names)
    assert "License-Expression: BSD-3-Clause" in metadata
    assert "Project-URL: Issues," in metadata
    assert "Classifier: Topic :: Software Development :: Testing" in metadata
    assert "Requires-Dist: torch<3,>=2.10" in metadata


def _workflow_files() -> list[Path]:
    return sorted((ROOT / ".github" / "workflows").glob("*.yml")) + [ROOT / "action.yml"]


def _uses(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "uses" and isinstance(v, str)] + [
            u for v in node.values() for u in _uses(v)]
    if isinstance(node, list):
        return [u for v in node for u in _uses(v)]
    return []


def test_every_action_is_pinned_by_commit_sha_with_its_tag_beside_it():
    import re

    import yaml

    for path in _workflow_files():
        text = path.read_text()
        for uses in _uses(yaml.safe_load(text)):
            if uses.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), (path.name, uses)
            line = next(line for line in text.splitlines() if uses in line)
            assert re.search(r"# v\d", line), (path.name, line)  # the tag, for a reader


def test_the_release_publishes_with_trusted_publishing_only_from_a_tag():
    import yaml

    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert wf[True] == {"push": {"tags": ["v*"]}}  # YAML reads the key `on` as True
    assert wf["permissions"] == {}
    build, publish = wf["jobs"]["build"], wf["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    script = next(s["run"] for s in build["steps"] if "run" in s)
    assert "twine check --strict" in script and "check-wheel-contents" in script
    assert publish["needs"] == "build" and publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in publish["steps"][-1]  # no token: PyPI trusts this workflow
