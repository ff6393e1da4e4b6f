"""From facts to the recommended path: the row is decided, its path runs, failures are named.

facts (`facts.gather`) -> decision (`recommend`) -> path (`paths.run_path`, one runner per
technology, artifacts in the store) -> the result. Reporters render the result.
"""

from __future__ import annotations

from pytest_inferencecheck.checking import prebuild
from pytest_inferencecheck.checking.facts import Facts, gather
from pytest_inferencecheck.checking.job import Job
from pytest_inferencecheck.checking.path import PathOutcome, run_path
from pytest_inferencecheck.checking.race import race
from pytest_inferencecheck.checking.runners.executorch import (
    INSTALL_HINT,
    ExecuTorchMissing,
    gates,
)
from pytest_inferencecheck.checking.runners.torch_compile import TorchCompileRunner
from pytest_inferencecheck.checking.stages import describe
from pytest_inferencecheck.errors import Explained, InternalError, StageError
from pytest_inferencecheck.host.faults import fault_of
from pytest_inferencecheck.measure.hints import break_failure_hint, row3_hint
from pytest_inferencecheck.recommendations.decision import Recommendation, recommend
from pytest_inferencecheck.recommendations.table import Target
from pytest_inferencecheck.result import CheckResult, Failure, Fallback
from pytest_inferencecheck.support.wording import plural


def decide(target: Target, facts: Facts | None = None, *, fastest_backend: str | None = None,
           aoti_failed: bool = False) -> Recommendation | None:
    """The row, decided here and nowhere else, at both levels.

    Without facts (before anything is measured), only the rows no measurement can move: 1, 2,
    6 and 8, so that an early failure can cite them. With facts, the row they imply; at the
    full level, what only building shows moves it on: the race's winner (row 7), an AOTI
    compile that fails (row 5)."""
    if facts is None:
        return None if target.python_server else recommend(target, graph_breaks=0)
    return recommend(target, graph_breaks=len(facts.graph_breaks),
                     aoti_supported=facts.export.ok and not aoti_failed,
                     fastest_backend=fastest_backend)


def run(job: Job, result: CheckResult) -> None:
    """Measure the facts, decide the row, run its path; fill in `result`."""
    facts = job.shared.gather(job) if job.shared is not None else gather(job)
    if job.level != "quick":
        prebuild.start(job, facts, job.prebuild)
    result.graph_breaks, result.export = facts.graph_breaks, facts.export
    result.graph_count = facts.graphs
    limit = job.opts.max_graph_breaks
    sites = len(facts.graph_breaks)
    if limit is not None and max(result.break_count, sites) > limit:  # neither count may pass it
        result.failures.append(_break_failure(
            result, job.target, f"{sites} graph break sites ({result.break_count} breaks as "
                    f"torch._dynamo.explain counts them), more than max_graph_breaks={limit}"))
    result.recommendation = decide(job.target, facts)
    if not job.target.has_fallback:
        _no_fallback_failures(job, facts, result)
    if job.level == "quick":
        _quick(job, facts, result)
    elif job.target.local_mac:
        _apply(result, run_path(job, facts, "eager"))
    elif job.target.python_server:
        _server_python(job, facts, result)
    elif not result.failures:
        _without_fallback(job, facts, result)


NOT_BUILT = {"aoti-python": ("aoti_compile", "aoti_load", "run", "compare"),
             "aoti-cpp": ("aoti_compile", "runner_build", "run", "compare"),
             "torch.compile": ("compile", "run", "compare"),
             "executorch": ("lower", "to_executorch", "run", "compare")}


def _quick(job: Job, facts: Facts, result: CheckResult) -> None:
    """The quick level: the row from the facts alone, with the same hard failures as a full run
    (breaks and export issues where the table has no fallback), and nothing built or run.

    What only the artifact can show is listed as skipped stages and said in a note: a row-3
    model may still move to row 5 when AOTI fails to compile it, and no artifact's numerics
    or latency were measured."""
    if job.target.python_server:
        if not facts.graph_breaks and not facts.export.ok:
            result.fallback = _export_fallback(facts)
        if job.opts.backends:
            job.stages.skip("race", "quick level: row 7's backend race needs compiled models")
    tech = result.recommendation.technology if result.recommendation else ""
    for stage in NOT_BUILT.get(tech, ()):
        job.stages.skip(stage, "quick level: not built or run")
    if tech != "eager":
        result.notes.append(f"quick level: the {tech} artifact was not built or run, so its "
                            "numerics and latency are unchecked"
                            + ("; AOTI may still fail to compile it (row 5)"
                               if tech == "aoti-python" else "")
                            + ": a full run (--inference-check-level=full) checks them")


def _apply(result: CheckResult, outcome: PathOutcome) -> None:
    result.numerics, result.latency = outcome.numerics, outcome.latency
    if outcome.executorch is not None:
        result.executorch = outcome.executorch
    result.skip_reason = outcome.skip_reason or result.skip_reason
    result.failures.extend(outcome.failures)


def _server_python(job: Job, facts: Facts, result: CheckResult) -> None:
    """Rows 3, 4, 5 and 7: AOTI when the model allows it, else torch.compile, reasons kept."""
    raced = race(job, facts) if job.opts.backends else None
    if raced is not None:
        result.race = raced.entries
        result.recommendation = decide(job.target, facts, fastest_backend=raced.winner)
    if result.recommendation.row in (4, 7):  # torch.compile with the backend the row names
        backend = result.recommendation.backend or "inductor"
        runner = TorchCompileRunner(backend, raced.compiled.get(backend) if raced else None)
        _apply(result, run_path(job, facts, "torch.compile", runner))
        return
    if result.recommendation.technology == "aoti-python":
        try:
            _apply(result, run_path(job, facts, "aoti-python"))
            return
        except StageError as err:
            if fault_of(err.exc) or isinstance(err.exc, InternalError):
                raise  # the host or this tool failed, not the model: no fallback, no row 5
            result.fallback = Fallback("aoti-python", err.stage, describe(err.exc),
                                       hint=row3_hint(err.stage))
            result.recommendation = decide(job.target, facts, aoti_failed=True)
    else:
        result.fallback = _export_fallback(facts)
    _apply(result, run_path(job, facts, "torch.compile", TorchCompileRunner()))


def _export_fallback(facts: Facts) -> Fallback:
    """Why AOTI cannot serve a model whose export failed (row 5)."""
    issues = facts.export.issues
    first = issues[0] if issues else None
    hint = first.hint if first else ""
    if len(issues) > 1:
        hint += f"; then the {plural(len(issues) - 1, 'other export issue')} listed"
    return Fallback("aoti-python", "export", first.message if first else "torch.export failed",
                    first.where if first else None, row3_hint("export", hint))


def _no_fallback_failures(job: Job, facts: Facts, result: CheckResult) -> Recommendation:
    """Rows 1, 2 and 6 (at either level): breaks and export failures are hard failures."""
    rec = result.recommendation
    path = "AOTI C++ is required" if rec.technology == "aoti-cpp" else "ExecuTorch is the path"
    why = f"row {rec.row} ({job.target.id}): {path} and the table has no fallback"
    if facts.graph_breaks and rec.technology == "executorch" and not job.opts.strict_export:
        result.breaks_decide = False  # ExecuTorch's export never meets Dynamo: information
        n = len(facts.graph_breaks)
        result.notes.append(
            f"torch.compile would break here ({n} graph break{'s' if n != 1 else ''}, listed "
            f"for information); ExecuTorch's export (non-strict) does not use Dynamo and "
            f"{'traced through them' if facts.export.ok else 'is judged on its own'}: row "
            f"{rec.row} is decided by the ExecuTorch path itself (strict_export=True makes "
            "them failures)")
    elif facts.graph_breaks:
        n = len(facts.graph_breaks)
        strict = (" and strict_export=True exports through Dynamo"
                  if rec.technology == "executorch" else "")
        result.failures.append(_break_failure(
            result, job.target, f"{n} graph break{'s' if n != 1 else ''}; {why}{strict}"))
    if not facts.export.ok:
        result.failures.append(_export_failure(result, why))
    return rec


def _without_fallback(job: Job, facts: Facts, result: CheckResult) -> None:
    """Rows 1, 2 and 6, their hard failures already found: the path runs."""
    rec = result.recommendation
    if rec.technology == "aoti-cpp":
        _apply(result, run_path(job, facts, "aoti-cpp"))
        return
    try:
        outcome = run_path(job, facts, "executorch")
    except ExecuTorchMissing as exc:
        result.failures.append(Failure(
            "executorch", f"{exc}; {job.target.id} (row {rec.row}) cannot be checked without it",
            INSTALL_HINT))
        return
    except StageError as err:  # lowered, then failed to load or run: its facts still count
        if isinstance(err.exc, Explained) and err.exc.facts is not None:
            result.executorch = err.exc.facts
            result.failures.extend(gates(err.exc.facts, job.opts))
        raise
    _apply(result, outcome)
    if outcome.executorch:
        result.failures.extend(gates(outcome.executorch, job.opts))


def _lines(items: list[str]) -> str:
    return "\n".join(f"  - {item}" for item in items)


def _break_failure(result: CheckResult, target: Target, why: str) -> Failure:
    breaks = result.graph_breaks or []
    first = next((b for b in breaks if b.file), breaks[0] if breaks else None)
    return Failure("graph_breaks", f"{why}:\n{_lines([b.describe() for b in breaks])}",
                   break_failure_hint(any(b.user_code for b in breaks),
                                      cpp_server=target.cpp_server),
                   first.file if first else None, first.line if first else None)


def _export_failure(result: CheckResult, why: str) -> Failure:
    issues = result.export.issues if result.export else []
    items = [i.describe() for i in issues]
    first = issues[0] if issues else None
    return Failure("export", f"torch.export failed with {len(issues)} "
                             f"issue{'s' if len(issues) != 1 else ''}; {why}:\n{_lines(items)}",
                   "fix each issue at the line shown (a hint follows each one above)",
                   first.file if first else None, first.line if first else None)
