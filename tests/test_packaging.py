"""The distributions: the sdist holds what its own tests need, the wheel its license and types."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    assert {"pytest_inferencecheck/py.typed", "pytest_inferencecheck/runners/aoti_runner.cpp"} <= names
    assert any(n.startswith("pytest_inferencecheck/schema/") for n in names)
    assert not any(n.startswith("tests/") for n in names)
    assert "License-Expression: BSD-3-Clause" in metadata
    assert "Project-URL: Issues," in metadata
    assert "Classifier: Topic :: Software Development :: Testing" in metadata
    assert "Requires-Dist: torch<3,>=2.10" in metadata
