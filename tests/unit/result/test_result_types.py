"""Stage names are one vocabulary: every one the package uses is in `result.StageName`."""

from __future__ import annotations

import ast
from pathlib import Path

from pytest_inferencecheck.checking.pipeline import NOT_BUILT
from pytest_inferencecheck.measure.hints import STAGE_HINTS
from pytest_inferencecheck.result import STAGES

PACKAGE = Path(__file__).resolve().parents[3] / "pytest_inferencecheck"
# calls that name a stage, and the position of the stage among their arguments
STAGE_ARG = {"stage": 0, "fail": 0, "skip": 0, "record": 0, "Failure": 0, "Stage": 0,
             "StageError": 0, "obtain_in_stage": 1, "_compare": 1, "_warn_or_fail": 2,
             "Fallback": 1}


def _stage_names_in_the_package() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == "keyed" and len(node.args) > 1 and isinstance(node.args[1], ast.Tuple):
                found |= {e.value for e in node.args[1].elts if isinstance(e, ast.Constant)}
            at = STAGE_ARG.get(name)
            if at is not None and len(node.args) > at:
                arg = node.args[at]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_every_stage_the_package_names_is_in_the_vocabulary():
    names = _stage_names_in_the_package()
    assert {"eager", "graph_breaks", "export", "aoti_compile", "lower"} <= names  # it reads them
    assert names <= set(STAGES), names - set(STAGES)


def test_hints_and_the_quick_level_name_only_known_stages():
    assert set(STAGE_HINTS) <= set(STAGES)
    assert {s for stages in NOT_BUILT.values() for s in stages} <= set(STAGES)
