"""`--fix`, `--unsafe-fixes` and `--diff`: each rule's fix as a snapshot (the file before, the
file after, and the fixed file linted again: clean of that rule), ruff's applicability (an unsafe
fix waits for `--unsafe-fixes`), and the command line's writing, diffing and reporting.

Regenerate the `.fixed` snapshots after an intended change with
`INFERENCECHECK_UPDATE_SNAPSHOTS=1 python -m pytest tests/lint/test_lint_fixes.py`."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_inferencecheck.lint.config import FileSettings
from pytest_inferencecheck.lint.engine import fix_source, lint_source
from pytest_inferencecheck.lint.fixes import SAFE, UNSAFE, Edit, Fix, apply
from pytest_inferencecheck.lint.rules import BY_CODE, RULES

from filesystems import read_only

SNAPSHOTS = Path(__file__).parent / "snapshots" / "fixes"
CASES = sorted(SNAPSHOTS.glob("IC*.py"))
ALL = FileSettings(None, frozenset(BY_CODE))


def lint(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_WORKSPACE"}
    return subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "lint", "--isolated",
                           "--no-cache", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, input=stdin, timeout=120)


@pytest.mark.parametrize("before", CASES, ids=[p.stem for p in CASES])
def test_each_fix_matches_its_snapshot_and_leaves_the_rule_clean(before):
    code = before.stem
    rule = BY_CODE[code]
    data = before.read_bytes()
    found = [f for f in lint_source(data, before.name, ALL).findings if f.code == code]
    assert found and all(f.fix is not None for f in found)  # every case here has its fix
    assert {f.fix.applicability for f in found} == {rule.fixable}  # as the rule's doc says
    new, left, applied = fix_source(data, before.name, ALL, unsafe=True)
    snapshot = before.parent / (before.name + ".fixed")
    if os.environ.get("INFERENCECHECK_UPDATE_SNAPSHOTS"):
        snapshot.write_bytes(new)
    assert new.decode() == snapshot.read_text(), f"{code} fix changed; see the module docstring"
    assert applied >= len(found)
    ast.parse(new)  # still Python
    assert [f for f in left.findings if f.code == code] == []  # linted again: clean of it
    kept, _, n = fix_source(data, before.name, ALL, unsafe=False)
    if rule.fixable == UNSAFE:  # without --unsafe-fixes an unsafe fix is never applied
        assert kept == data and n == 0
    else:
        assert kept == new


def test_every_rule_with_a_fix_has_a_snapshot_and_says_which_kind():
    fixable = {r.code for r in RULES if r.fixer is not None or r.fixable}
    assert fixable == {p.stem for p in CASES}
    for r in RULES:
        assert (r.fixable in (SAFE, UNSAFE)) == (r.code in fixable)
        assert ("The fix is " + str(r.fixable)) in r.doc() if r.fixable else \
            "No fix is available." in r.doc()


@pytest.mark.parametrize("source", [
    "from torch.onnx import dynamo_export\np = dynamo_export(m, x)\n",  # a bare name
    "import torch\np = torch.onnx.dynamo_export(m, *xs)\n",  # starred arguments
    "import torch\np = torch.onnx.dynamo_export(m, x, export_options=o)\n",
    "import torch\ntorch.onnx.export(m, (x,), 'm.onnx', dynamo=flag)\n",  # computed
    "from functorch.experimental.control_flow import cond\ny = cond(p, f, g, (x,))\n",  # no torch
])
def test_spellings_without_a_mechanical_fix_get_none(source):
    found = lint_source(source.encode(), "a.py", ALL).findings
    assert found and all(f.fix is None for f in found), found


def test_overlapping_fixes_wait_for_the_next_pass():
    text = "abcdef\n"
    first = Fix(SAFE, "", (Edit(1, 2, 1, 4, "X"),))
    overlapping = Fix(SAFE, "", (Edit(1, 3, 1, 5, "Y"),))
    after = Fix(SAFE, "", (Edit(1, 5, 1, 6, "Z"),))
    assert apply(text, [overlapping, after, first]) == ("aXdZf\n", 2)


def test_fix_writes_the_file_and_reports_fixed_and_remaining(tmp_path):
    (tmp_path / "m.py").write_text("import torch\nfrom functorch.experimental.control_flow "
                                   "import cond\n\ny = cond(p, f, g, (x,))\n"
                                   "z = torch.jit.script(m)\n"
                                   "w = torch.compile(m, backend='ts')\n")
    shown = lint(cwd=tmp_path)
    assert "m.py:4:5: IC117 [*]" in shown.stdout and "m.py:5:5: IC101 `" in shown.stdout
    assert shown.stdout.endswith("Found 3 errors.\n[*] 1 fixable with the `--fix` option (1 hidden "
                                 "fix can be enabled with the `--unsafe-fixes` option).\n")
    out = lint("--fix", cwd=tmp_path)
    assert out.returncode == 1  # IC101 and the unsafe IC114 remain
    assert out.stdout.endswith("Found 3 errors (1 fixed, 2 remaining).\nNo fixes available (1 "
                               "hidden fix can be enabled with the `--unsafe-fixes` option).\n")
    assert "y = torch.cond(p, f, g, (x,))" in (tmp_path / "m.py").read_text()
    out = lint("--fix", "--unsafe-fixes", cwd=tmp_path)
    assert out.stdout.endswith("Found 2 errors (1 fixed, 1 remaining).\n"), out.stdout
    assert "w = torch.compile(m)\n" in (tmp_path / "m.py").read_text()


def test_diff_shows_and_writes_nothing(tmp_path):
    source = "import torch\nprogram = torch.onnx.export(m, (x,), 'm.onnx', dynamo=False)\n"
    (tmp_path / "m.py").write_text(source)
    out = lint("--diff", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == ""  # the only fix is unsafe
    assert out.stderr == "No errors would be fixed.\n"
    out = lint("--diff", "--unsafe-fixes", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == "Would fix 1 error.\n"
    assert out.stdout.splitlines()[:2] == ["--- m.py", "+++ m.py"]
    assert "+program = torch.onnx.export(m, (x,), 'm.onnx', dynamo=True)" in out.stdout
    assert (tmp_path / "m.py").read_text() == source


def test_fix_on_standard_input_prints_the_fixed_source(tmp_path):
    source = "import torch\nimport functorch.experimental.control_flow as cf\n" \
             "y = cf.cond(p, f, g, (x,))\n"
    out = lint("--fix", "-", cwd=tmp_path, stdin=source)
    assert out.stdout == source.replace("cf.cond(", "torch.cond(")
    assert out.returncode == 0 and "All checks passed!" in out.stderr
    clean = lint("--fix", "-", cwd=tmp_path, stdin="x = 1\n")
    assert clean.stdout == "x = 1\n"  # nothing to fix: the source comes back unchanged


def test_fix_keeps_a_bom_crlf_lines_and_the_files_mode(tmp_path):
    path = tmp_path / "m.py"
    path.write_bytes(b"\xef\xbb\xbfimport torch\r\nimport functorch.experimental.control_flow "
                     b"as cf\r\ny = cf.cond(p, f, g, (x,))\r\n")
    path.chmod(0o640)
    lint("--fix", cwd=tmp_path)
    assert path.read_bytes() == (b"\xef\xbb\xbfimport torch\r\nimport functorch.experimental."
                                 b"control_flow as cf\r\ny = torch.cond(p, f, g, (x,))\r\n")
    assert path.stat().st_mode & 0o777 == 0o640


def test_fix_writes_through_a_symlink_and_keeps_hard_links_and_the_owner(tmp_path):
    # Issue 31: --fix turned a symlink into a regular file (its target unchanged), split hard
    # links and made another user's file root's.
    import os

    source = "import torch\nimport functorch.experimental.control_flow as cf\n" \
             "y = cf.cond(p, f, g, (x,))\n"
    fixed = source.replace("cf.cond(", "torch.cond(")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "real.py").write_text(source)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "linked.py").symlink_to(shared / "real.py")
    (tmp_path / "pkg" / "hard.py").write_text(source)
    os.link(tmp_path / "pkg" / "hard.py", shared / "other_name.py")
    if os.geteuid() == 0:
        os.chown(tmp_path / "pkg" / "hard.py", 4242, 4242)
    lint("--fix", "pkg", cwd=tmp_path)
    assert (tmp_path / "pkg" / "linked.py").is_symlink()
    assert (shared / "real.py").read_text() == fixed
    assert (shared / "other_name.py").read_text() == fixed  # the other name sees the fix
    st = os.stat(tmp_path / "pkg" / "hard.py")
    assert st.st_nlink == 2 and (st.st_uid == 4242 if os.geteuid() == 0 else True)


def test_a_file_that_cannot_be_written_is_an_error_and_keeps_its_findings(tmp_path):
    source = "import torch\nimport functorch.experimental.control_flow as cf\n" \
             "y = cf.cond(p, f, g, (x,))\n"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text(source)
    with read_only(tmp_path / "ro", populate=tmp_path / "src") as folder:
        out = lint("--fix", "m.py", cwd=folder)
        assert (folder / "m.py").read_text() == source
    assert out.returncode == 2 and "cannot fix" in out.stderr, out.stderr
    assert "m.py:3:5: IC117 [*]" in out.stdout  # the finding is still reported
