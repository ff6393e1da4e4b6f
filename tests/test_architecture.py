"""The layout is the architecture: each layer imports only the layers below it, nothing is part of
a cycle, the root holds only the public faces, and imports sit at the top of each module except
where they defer torch. Checked with the real tools (import-linter, ruff) on the real package,
and each contract is shown to fail on an injected violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_inferencecheck"
# The public faces: the Python API, the command line, the pytest plugin, the errors users catch
# and the result type every reporter renders. Everything else lives in a subpackage.
FACES = {"__init__.py", "__main__.py", "cli.py", "plugin.py", "errors.py", "result.py"}


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("lint-imports"), "--config", str(root / "pyproject.toml"),
                           "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_the_root_holds_only_the_public_faces():
    modules = {p.name for p in PACKAGE.glob("*.py")}
    assert modules == FACES
    for sub in (p for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"
                and p.name != "schema"):
        doc = (sub / "__init__.py").read_text()
        assert doc.startswith('"""'), f"{sub.name}/__init__.py says what the package answers"


def test_the_import_contracts_hold():
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 kept, 0 broken" in run.stdout


NEVER_TORCH = "The linter, the reporters and the table never import"
LINT_ALONE = "The linter imports nothing of the plugin"


@pytest.mark.parametrize("module, line, broken", [
    # a helper at the bottom reaching up into the check: an upward import
    ("support/timing.py", "from pytest_inferencecheck.checking import api", "Layers"),
    # two modules of one package importing each other: a cycle
    ("checking/stages.py", "from pytest_inferencecheck.checking import prebuild", "No cycles"),
    # the prebuild coordinator's old circle: a runner importing the coordinator back
    ("checking/runners/base.py", "from pytest_inferencecheck.checking import prebuild", "No cycles"),
    # issue 32: each of these left the one-ladder contract green
    ("lint/engine.py", "from pytest_inferencecheck.checking import api", NEVER_TORCH),
    ("lint/engine.py", "import torch", NEVER_TORCH),
    ("lint/engine.py", "from pytest_inferencecheck.gate import verdict", LINT_ALONE),
    ("reporters/text.py", "from pytest_inferencecheck.checking import api", NEVER_TORCH),
    # and indirectly: a reporter reaching torch through a helper it imports
    ("support/wording.py", "import torch", NEVER_TORCH),
    ("config/settings.py", "from pytest_inferencecheck.host import cpp_build", "Layers"),
    ("pytest_plugin/marker.py", "from pytest_inferencecheck.lint import engine", "Layers"),
])
def test_each_contract_fails_on_an_injected_violation(tmp_path, module, line, broken):
    tree = tmp_path / "repo"
    shutil.copytree(PACKAGE, tree / "pytest_inferencecheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    target = tree / "pytest_inferencecheck" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    run = _lint_imports(tree)
    assert run.returncode != 0
    assert f"{broken}" in run.stdout.split("Broken contracts")[-1], run.stdout


def test_imports_are_at_the_top_except_where_they_defer_torch():
    run = subprocess.run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise",
                          "pytest_inferencecheck", "tests", "benchmarks", "examples"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # every deferred import says why (`noqa: PLC0415 - defers torch`): those lines are the allowlist
    unexplained = [f"{path.relative_to(ROOT)}:{n}" for path in PACKAGE.rglob("*.py")
                   for n, text in enumerate(path.read_text().splitlines(), 1)
                   if "noqa: PLC0415" in text and "noqa: PLC0415 - " not in text]
    assert not unexplained


def test_no_subpackage_shadows_a_public_name():
    # A subpackage named like a public name (`check/` beside `check()`) replaces it on the
    # package as soon as any of its modules is imported: `from pytest_inferencecheck import check`
    # then returns a module.
    code = textwrap.dedent('''
        import pkgutil, types, pytest_inferencecheck as p
        for m in pkgutil.walk_packages(p.__path__, "pytest_inferencecheck."):
            if not m.name.endswith("__main__"):
                __import__(m.name)
        from pytest_inferencecheck import check
        assert callable(check) and not isinstance(check, types.ModuleType), check
        shadowed = [n for n in p.__all__ if isinstance(getattr(p, n), types.ModuleType)]
        assert not shadowed, shadowed
    ''')
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]


def test_the_tools_own_code_in_every_subpackage_keys_the_store(tmp_path):
    # keys.tool_digest moved into store/ with the layout: it must still hash the whole package
    # (a changed checker may measure differently), not only the store's own folder.
    tree = tmp_path / "repo"
    shutil.copytree(PACKAGE, tree / "pytest_inferencecheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = "from pytest_inferencecheck.store.keys import tool_digest; print(tool_digest())"

    def digest() -> str:
        return subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True,
                              text=True, check=True, env={"PYTHONPATH": str(tree)}).stdout

    before = digest()
    pipeline = tree / "pytest_inferencecheck" / "checking" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "\n# a changed checker\n")
    assert digest() != before


def test_every_exception_is_defined_in_errors():
    """One error hierarchy in one module: a public exception class anywhere else is a second one.
    Read from the syntax trees (no import): a class whose bases name an exception."""
    import ast

    exception_bases = {"Exception", "BaseException", "RuntimeError", "ValueError", "OSError",
                       "TypeError", "KeyError"}
    defined: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                defined[node.name] = str(path.relative_to(PACKAGE))
    elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                     for b in node.bases}
            is_exception = bases & exception_bases or any(
                defined.get(b) == "errors.py" for b in bases)
            if is_exception and rel != "errors.py":
                elsewhere.append(f"{rel}: {node.name}")
    assert not elsewhere, "define these in errors.py: " + ", ".join(elsewhere)


def test_the_unit_tests_are_arranged_as_the_packages_are():
    tests = Path(__file__).resolve().parent
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    unit = {p.name for p in (tests / "unit").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert unit <= packages | {"result"}, f"tests/unit/ folders that name no package: " \
                                          f"{sorted(unit - packages - {'result'})}"
    stray = sorted(p.name for p in tests.glob("test_*.py") if p.name != "test_architecture.py")
    assert not stray, f"tests belong in unit/<package>, e2e/ or lint/: {stray}"
