"""pytest-inferencecheck: hold PyTorch models to PyTorch's 2.x inference recommendations.

The package, one question per subpackage; each imports only those below it (README, "Layout"):

├── __init__.py      the Python API: check(), recommend(), the table, ArtifactStore
├── cli.py           the `inferencecheck` command (table, recommend, run, cache, lint)
├── plugin.py        the pytest plugin: hooks only (the pytest11 entry point)
├── errors.py        every exception, in one module: usage, host fault, a bug of ours, and
│                    the few a check raises and catches on the way to its result
├── result.py        CheckResult: the one result type every reporter renders
├── pytest_plugin/   marker, one check per item, config-declared models, the session, hookspecs
├── lint/            `inferencecheck lint`: static rules on syntax trees (never imports torch)
├── gate/            verdict (strict, baseline) decided once; the baseline; the end of a run
├── reporters/       one module per format: text, summary, JSON, JUnit, GitHub, the HTML page;
│                    a file's report is a FileReport (base), all listed in `files`
├── checking/        check() (api), facts, pipeline, one path, row 7's race, prebuild + helpers,
│   └── runners/     one runner per technology: eager, aoti_python, aoti_cpp, executorch, torch_compile
├── config/          one registry of knobs: settings (run-wide), options (per check), pyproject
├── measure/         graph breaks, export issues, numerics against eager, latency, hints
├── host/            compilers (toolchain), devices, host faults, the C++ runner's build, prewarm
├── store/           the artifact store (artifacts), what keys an entry (keys), file locks
├── recommendations/ the table, the decision, partitioner names (pure: no torch)
└── support/         leaf helpers: compat (every private torch name), locations, timing, quiet,
                     files, sizes, JUnit XML, workflow commands, records (JSON from
                     fields), node ids, the version
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.recommendations.table import (
    ALIASES,
    TABLE,
    TARGETS,
    TECHNOLOGIES,
    Row,
    Target,
)
from pytest_inferencecheck.support.version import __version__

__all__ = ["ALIASES", "ArtifactStore", "TABLE", "TARGETS", "TECHNOLOGIES", "CheckResult",
           "InferenceCheckError", "Recommendation", "Row", "Target", "check", "check_targets",
           "recommend",
           "__version__"]

if TYPE_CHECKING:
    from pytest_inferencecheck.checking.api import check, check_targets
    from pytest_inferencecheck.recommendations.decision import Recommendation, recommend
    from pytest_inferencecheck.result import CheckResult
    from pytest_inferencecheck.store.artifacts import ArtifactStore


def __getattr__(name: str) -> Any:
    # torch is imported only when a check is asked for, and the result and store modules
    # only when named: the table, the decision and the linter stay importable (and fast:
    # `inferencecheck lint` on a warm tree is mostly imports) without them.
    if name in ("check", "check_targets"):
        from pytest_inferencecheck.checking import api  # noqa: PLC0415 - defers torch

        return getattr(api, name)
    if name == "CheckResult":
        from pytest_inferencecheck.result import CheckResult  # noqa: PLC0415 - deferred

        return CheckResult
    if name in ("recommend", "Recommendation"):
        from pytest_inferencecheck.recommendations import decision  # noqa: PLC0415 - deferred

        return getattr(decision, name)
    if name == "ArtifactStore":
        from pytest_inferencecheck.store.artifacts import ArtifactStore  # noqa: PLC0415 - deferred

        return ArtifactStore
    raise AttributeError(f"module 'pytest_inferencecheck' has no attribute {name!r}")
