"""The linter: fixture files per rule (TorchFix style), selection, formats, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_inferencecheck.lint.config import LintConfig
from pytest_inferencecheck.lint.emitters import EMITTERS
from pytest_inferencecheck.lint.engine import lint_paths
from pytest_inferencecheck.lint.rules import RULES
from pytest_inferencecheck.lint.walker import check_source
from pytest_inferencecheck.recommendations.table import TARGETS

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*.py"))


def lint_fixture(py: Path):
    m = re.search(r"^# lint-target: (\S+)", py.read_text(), re.M)
    config = LintConfig(select=("IC",), paths={"*": m.group(1)} if m else {})
    return lint_paths([str(py)], config, root=FIXTURES)


@pytest.mark.parametrize("py", CASES, ids=[p.stem for p in CASES])
def test_fixture_findings_match_the_expected_file(py):
    result = lint_fixture(py)
    # the message too: a changed message is a changed snapshot, reviewed like any other
    got = [f"{f.line}:{f.col}: {f.code} {f.message}" for f in result.findings]
    assert got == py.with_suffix(".txt").read_text().splitlines()
    assert result.errors == []


def test_every_rule_has_a_positive_fixture():
    expected = "".join(p.read_text() for p in FIXTURES.glob("*.txt"))
    assert {r.code for r in RULES} <= set(re.findall(r"IC\d{3}", expected))


def test_codes_are_unique_grouped_and_documented():
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"IC[1239]\d\d", c) for c in codes)
    assert len({r.name for r in RULES}) == len(RULES)
    for r in RULES:
        doc = r.doc()
        for heading in ("## What it does", "## Why is this bad?", "## Example",
                        "## Use instead", "## Fix safety", "## References"):
            assert heading in doc, (r.code, heading)
        assert r.message and r.references


def test_messages_name_the_row_and_the_api():
    (f,) = check_source("import torch\ntorch.compile(m)\n", "a.py", TARGETS["server-aarch64-cpp"])
    assert f.code == "IC202" and "row 6" in f.message and "`torch.compile`" in f.message
    assert "server-aarch64-cpp" in f.message


def test_selection_by_prefix_and_ignore():
    src = FIXTURES / "IC3xx_forward.py"
    default = {f.code for f in lint_paths([str(src)], LintConfig()).findings}
    assert "IC305" not in default  # off by default (see the closing note's precision numbers)
    assert {"IC301", "IC302", "IC306"} <= default
    only = {f.code for f in lint_paths([str(src)], LintConfig(select=("IC30",),
                                                              ignore=("IC301",))).findings}
    assert "IC301" not in only and "IC305" in only


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    from test_lint_cli import lint

    return lint(*args, cwd=cwd)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.inferencecheck.lint]\nignore = ["IC104"]\n'
        '[tool.inferencecheck.lint.paths]\n"app/mobile/*" = "mobile-ios"\n')
    (tmp_path / "app" / "mobile").mkdir(parents=True)
    (tmp_path / "app" / "mobile" / "export.py").write_text(
        "import torch\nm = torch.compile(model)\ntorch.jit.save(m, 'x')\n")
    (tmp_path / "clean.py").write_text("import torch\nep = torch.export.export(m, (x,))\n")
    return tmp_path


def test_exit_codes(project):
    assert run_cli("clean.py", cwd=project).returncode == 0
    found = run_cli(cwd=project)
    assert found.returncode == 1
    assert "app/mobile/export.py:2:5: IC201 this path deploys to mobile-ios" in found.stdout
    assert "IC104" not in found.stdout  # ignored by config
    assert run_cli("--exit-zero", cwd=project).returncode == 0
    # as in ruff, --ignore adjusts the config's selection (IC104 stays ignored) ...
    assert run_cli("--ignore", "IC2", cwd=project).returncode == 0
    # ... and --select starts over from the command line: the config's ignore no longer applies
    selected = run_cli("--select", "IC1", cwd=project)
    assert selected.returncode == 1 and "IC104" in selected.stdout and "IC201" not in selected.stdout
    (project / "broken.py").write_text("def f(:\n")
    broken = run_cli(cwd=project)
    assert broken.returncode == 1  # issue 21: as ruff's invalid-syntax, a finding (was 2)
    assert "broken.py:1:7: cannot parse" in broken.stderr
    assert "IC201" in broken.stdout  # the other files were still linted
    assert run_cli("nope.py", cwd=project).returncode == 2
    assert run_cli("--select", "IC999", cwd=project).returncode == 2
    assert run_cli("--output-format", "xml", cwd=project).returncode == 2


def test_explain_and_list_rules(project):
    out = run_cli("--explain", "IC101", cwd=project)
    assert out.returncode == 0 and "## Use instead" in out.stdout and "torch.export" in out.stdout
    assert run_cli("--explain", "IC999", cwd=project).returncode == 2
    listed = run_cli("--list-rules", cwd=project).stdout
    assert all(r.code in listed for r in RULES)


def test_output_format_from_the_environment(project):
    out = subprocess.run([sys.executable, "-m", "pytest_inferencecheck", "lint"],
                         capture_output=True, text=True, cwd=project,
                         env={**__import__("os").environ, "INFERENCECHECK_OUTPUT_FORMAT": "json"})
    assert json.loads(out.stdout)["findings"][0]["code"] == "IC201"


def test_the_linter_never_imports_torch(project):
    code = ("import sys; from pytest_inferencecheck.cli import main; main(['lint', '.']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=project)
    assert out.stdout.strip().splitlines()[-1] == "False"


# -- one test per output format, from the same result -----------------------------------
@pytest.fixture
def result():
    return lint_paths([str(FIXTURES / "IC3xx_forward.py"), str(FIXTURES / "IC101.py")],
                      LintConfig(), root=FIXTURES)


def test_text_format(result):
    out = EMITTERS["text"](result)
    assert "IC101.py:7:2: IC101 `torch.jit.script` is superseded" in out
    assert out.rstrip().endswith(f"Found {len(result.findings)} errors.")  # ruff's words


def test_github_format_escapes_and_levels(result):
    lines = EMITTERS["github"](result).splitlines()
    assert len(lines) == len(result.findings)
    assert any(line.startswith("::error file=IC101.py,line=7,col=2,endLine=7,endColumn=18,"
                               "title=IC101 torch-jit-script::")
               for line in lines)
    assert any(line.startswith("::warning ") and "IC301" in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_json_format(result):
    data = json.loads(EMITTERS["json"](result))
    assert data["files"] == 2 and data["errors"] == []
    assert {"path", "line", "col", "end_line", "end_col", "code", "name", "message"} <= set(
        data["findings"][0])
    assert [f["code"] for f in data["findings"]] == [f.code for f in result.findings]


def test_sarif_format_has_what_code_scanning_needs(result):
    log = json.loads(EMITTERS["sarif"](result))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in RULES]
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/")  # repo-relative
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert res["level"] in {"error", "warning"}


def test_junit_format_parses_back(result):
    root = ET.fromstring(EMITTERS["junit"](result))
    cases = root.findall(".//testcase")
    assert {c.get("name") for c in cases} == {"IC3xx_forward.py", "IC101.py"}
    failures = root.findall(".//failure")
    assert len(failures) == len(result.findings)
    assert any("IC101" in f.get("message") for f in failures)


def test_junit_format_validates_against_jenkins_junit_10_xsd(result, tmp_path):
    """Also through the real command, with a file that cannot be linted (a failed case)."""
    import xmlschema

    schema = xmlschema.XMLSchema(str(Path(__file__).resolve().parents[1] / "junit-10.xsd"))
    schema.validate(EMITTERS["junit"](result))
    (tmp_path / "bad.py").write_bytes(b"\xff\xfe not utf-8 \x00")
    (tmp_path / "ok.py").write_text("import torch\ntorch.jit.script(f)\n")
    out = run_cli("--output-format", "junit", ".", cwd=tmp_path)
    assert out.returncode == 2 and "bad.py: cannot read" in out.stderr  # exit 2: an unread file
    # a bad byte past the first lines: where, as a line and column (issue 31: "position 302")
    (tmp_path / "bad.py").write_bytes(b"x = 1\ny = '\xc3('\n")
    later = run_cli(".", cwd=tmp_path)
    assert "byte 0xc3 at line 2, column 6" in later.stderr and "position" not in later.stderr
    schema.validate(out.stdout)
    names = {c.get("name") for c in ET.fromstring(out.stdout).iter("testcase")}
    assert "ok.py" in names and any("bad.py" in n for n in names)


def test_unknown_rule_prefix_in_config_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.inferencecheck.lint]\nselect = ["XX1"]\n')
    out = run_cli(cwd=tmp_path)
    assert out.returncode == 2 and "'XX1' matches no rule" in out.stderr


def test_unknown_lint_config_key_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.inferencecheck.lint]\nselekt = ["IC1"]\n')
    out = run_cli(cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown key(s) selekt; valid keys: exclude, extend-exclude, extend-select, " \
        "ignore, paths, per-file-ignores, select" in out.stderr


def test_unknown_target_in_lint_paths_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.inferencecheck.lint.paths]\n"a/*" = "andriod"\n')
    out = run_cli(cwd=tmp_path)
    assert out.returncode == 2 and "unknown deployment target 'andriod'" in out.stderr


def test_forward_messages_say_what_compile_and_export_each_do():
    """Measured with torch 2.13 (benchmarks/forward_hazards.py): the messages name both."""
    for rule in RULES:
        if rule.code.startswith("IC3"):
            assert "torch.compile" in rule.message and "torch.export" in rule.message, rule.code
    (f,) = check_source("from torch import nn\nclass M(nn.Module):\n    def forward(self, x):\n"
                        "        print(x)\n        return x\n", "m.py")
    assert "graph break under torch.compile" in f.message
    assert "torch.export traces past it" in f.message and "breaks the graph under" not in \
        f.message


NEWER = {
    "def first[T](items: list[T]) -> T:\n    return items[0]\n": ((3, 12), "type parameter"),
    "type Pair = tuple[int, int]\n": ((3, 12), "`type` alias"),
    "names = {'a': 1}\nlabel = f\"{names[\"a\"]}\"\n": ((3, 12), "f-string that reuses"),
    "def first[T = int](x: T) -> T:\n    return x\n": ((3, 13), "type parameter with a default"),
    "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n": ((3, 14), "several exceptions"),
    "name = 'x'\ngreeting = t'hello {name}'\n": ((3, 14), "template string"),
}


@pytest.mark.parametrize("source", list(NEWER))
def test_a_file_newer_than_this_python_says_which_python_it_needs(tmp_path, source):
    # Issue 21: linting torch's own tree on 3.11 exited 2 on a 3.12 file with "expected '('".
    from pytest_inferencecheck.lint.syntax import needs

    version, what = NEWER[source]
    found = needs(source, None, running=(3, 10))
    assert found is not None and found[0] <= version
    assert needs(source, None, running=version) is None  # that Python parses it: no claim
    if version > sys.version_info[:2]:  # the running Python cannot parse it: the real thing
        (tmp_path / "newer.py").write_text(source)
        (tmp_path / "model.py").write_text("import torch\nm = torch.jit.script(f)\n")
        out = run_cli("--isolated", ".", cwd=tmp_path)
        assert out.returncode == 1, out.stderr  # as ruff: a finding, the rest still linted
        assert what in out.stderr
        assert f"syntax of Python {version[0]}.{version[1]}" in out.stderr
        assert f"run the linter with Python {version[0]}.{version[1]} or newer" in out.stderr
        assert "model.py:2:5: IC101" in out.stdout


def test_a_real_syntax_error_claims_no_newer_python():
    from pytest_inferencecheck.lint.syntax import parse_error_message

    try:
        compile("def f(:\n", "bad.py", "exec")
    except SyntaxError as exc:
        assert parse_error_message("def f(:\n", exc) == f"cannot parse: {exc.msg}"


def _codes(tmp_path, source: str) -> list[tuple[int, str]]:
    (tmp_path / "m.py").write_text(source)
    found = lint_paths([str(tmp_path / "m.py")], LintConfig(select=("ALL",)), root=tmp_path)
    return [(f.line, f.code) for f in found.findings]


def test_an_accelerator_query_in_forward_is_not_a_tensor(tmp_path):
    # Issue 21: IC306 fired on a device check; torch.accelerator answers with Python values.
    assert _codes(tmp_path, (
        "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
        "    def forward(self, x, device):\n"
        "        if device.type == 'cpu' or not torch.accelerator.is_available():\n"
        "            return x\n"
        "        if torch.accelerator.current_accelerator() is None:\n"
        "            return x\n"
        "        return x * 2\n")) == []


def test_a_value_branch_on_a_tensor_is_still_found(tmp_path):
    assert _codes(tmp_path, (
        "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
        "    def forward(self, x: torch.Tensor):\n"
        "        if torch.any(x > 0):\n            return x\n        return -x\n")) == [
        (7, "IC306")]


@pytest.mark.parametrize("scope", ["module", "function"])
def test_an_imported_name_reassigned_in_its_scope_is_not_the_import(tmp_path, scope):
    # Issue 21: `script = make_wrapper()` beside `from torch.jit import script` was still
    # taken for torch.jit.script.
    body = ("from torch.jit import script\n"
            "script = make_wrapper()\n"
            "compiled = script(model)\n")
    if scope == "function":
        body = "def build(model, make_wrapper):\n" + "".join(
            f"    {line}\n" for line in body.splitlines())
    assert _codes(tmp_path, body) == []
    plain = "from torch.jit import script\ncompiled = script(model)\n"
    assert [code for _, code in _codes(tmp_path, plain)] == ["IC101"]  # the import alone: found


@pytest.mark.parametrize("path, root", [
    ("/r/a/b.py", "/r"), ("/r/a/b.py", "/r/"), ("/r", "/r"), ("/x/b.py", "/r"),
    ("/r/a/../b.py", "/r"), ("/ra/b.py", "/r"), ("/r/./a.py", "/r"), ("/a.py", "/"),
])
def test_relative_paths_match_os_relpath(path, root):
    # The fast path for a file under the root (what a warm lint spends its time on) must say
    # exactly what os.path.relpath says.
    import os
    from pathlib import Path

    from pytest_inferencecheck.lint.config import relative_path

    assert relative_path(Path(path), Path(root)) == os.path.relpath(path, root)


def test_a_file_level_noqa_with_codes_silences_only_those_codes(tmp_path):
    source = ("# inferencecheck: noqa: IC102\nimport torch\n\na = torch.jit.trace(m, x)\n"
              "b = torch.jit.script(m)\n")
    (tmp_path / "m.py").write_text(source)
    result = lint_paths([str(tmp_path)], LintConfig(), root=tmp_path)
    assert [(f.line, f.code) for f in result.findings] == [(5, "IC101")]
    (tmp_path / "m.py").write_text(source.replace(": IC102", ""))  # a bare one skips the file
    assert lint_paths([str(tmp_path)], LintConfig(), root=tmp_path).findings == []


def test_unused_noqa_is_off_by_default_and_names_unknown_and_disabled_codes(tmp_path):
    (tmp_path / "m.py").write_text("import torch\n\na = torch.jit.script(m)  # noqa: IC101\n"
                                   "b = 1  # noqa: IC999, IC305, E501\nc = 2  # noqa\n")
    assert lint_paths([str(tmp_path)], LintConfig(), root=tmp_path).findings == []
    on = lint_paths([str(tmp_path)], LintConfig(extend_select=("IC900",)), root=tmp_path)
    assert [(f.line, f.col, f.message) for f in on.findings] == [
        (4, 8, "Unused `noqa` directive (unknown: `IC999`; non-enabled: `IC305`)")]
