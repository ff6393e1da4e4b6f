"""From facts to the recommended path: the row is decided, its path runs, failures are named.

facts (`facts.gather`) -> decision (`recommend`) -> path (`paths.run_path`, one runner per
technology, artifacts in the store) -> the result. Reporters render the result.
"""

from __future__ import annotations

from pytest_inferencecheck.check import prebuild
from pytest_inferencecheck.check.facts import Facts, gather
from pytest_inferencecheck.check.job import Job
from pytest_inferencecheck.check.path import PathOutcome, run_path
from pytest_inferencecheck.check.race import race
from pytest_inferencecheck.check.runners.executorch import INSTALL_HINT, ExecuTorchMissing, gates
from pytest_inferencecheck.check.runners.torch_compile import TorchCompileRunner
from pytest_inferencecheck.check.stages import StageError, describe
from pytest_inferencecheck.host.faults import fault_of
from pytest_inferencecheck.recommendations.decision import Recommendation, recommend
from pytest_inferencecheck.result import CheckResult, Failure, Fallback
from pytest_inferencecheck.support.locations import display_path


def run(job: Job, result: CheckResult) -> None:
    """Measure the facts, decide the row, run its path; fill in `result`."""
    facts = gather(job)
    if job.level != "quick":
        prebuild.start(job, facts, job.prebuild)
    result.graph_breaks, result.export = facts.graph_breaks, facts.export
    result.graph_count = facts.graphs
    limit = job.opts.max_graph_breaks
    sites = len(facts.graph_breaks)
    if limit is not None and max(result.break_count, sites) > limit:  # neither count may pass it
        result.failures.append(_break_failure(
            result, f"{sites} graph break sites ({result.break_count} breaks as "
                    f"torch._dynamo.explain counts them), more than max_graph_breaks={limit}"))
    t = job.target
    if job.level == "quick":
        _quick(job, facts, result)
    elif t.platform == "mac":
        result.recommendation = recommend(t, graph_breaks=0)
        _apply(result, run_path(job, facts, "eager"))
    elif t.runtime == "python":
        _server_python(job, facts, result)
    else:
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
    t = job.target
    if t.platform == "mac":
        result.recommendation = recommend(t, graph_breaks=0)
    elif t.runtime == "python":
        breaks = len(facts.graph_breaks)
        if breaks or facts.export.ok:
            result.recommendation = recommend(t, graph_breaks=breaks)
        else:
            result.fallback = _export_fallback(facts)
            result.recommendation = recommend(t, graph_breaks=0, aoti_supported=False)
        if job.opts.backends:
            job.stages.skip("race", "quick level: row 7's backend race needs compiled models")
    else:
        _no_fallback_failures(job, facts, result)
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
    t = job.target
    breaks = len(facts.graph_breaks)
    raced = race(job, facts) if job.opts.backends else None
    if raced is not None:
        result.race = raced.entries
    if (raced and raced.winner) or breaks:
        result.recommendation = recommend(t, graph_breaks=breaks,
                                          fastest_backend=raced.winner if raced else None)
        backend = result.recommendation.backend or "inductor"
        runner = TorchCompileRunner(backend, raced.compiled.get(backend) if raced else None)
        _apply(result, run_path(job, facts, "torch.compile", runner))
        return
    if facts.export.ok:
        try:
            result.recommendation = recommend(t, graph_breaks=0)
            _apply(result, run_path(job, facts, "aoti-python"))
            return
        except StageError as err:
            if fault_of(err.exc):  # the host failed, not the model: no fallback, no row 5
                raise
            result.fallback = Fallback("aoti-python", err.stage, describe(err.exc))
    else:
        result.fallback = _export_fallback(facts)
    result.recommendation = recommend(t, graph_breaks=0, aoti_supported=False)
    _apply(result, run_path(job, facts, "torch.compile", TorchCompileRunner()))


def _export_fallback(facts: Facts) -> Fallback:
    """Why AOTI cannot serve a model whose export failed (row 5)."""
    first = facts.export.issues[0] if facts.export.issues else None
    return Fallback("aoti-python", "export", first.message if first else "torch.export failed")


def _no_fallback_failures(job: Job, facts: Facts, result: CheckResult) -> Recommendation:
    """Rows 1, 2 and 6 (at either level): breaks and export failures are hard failures."""
    rec = result.recommendation = result.recommendation or recommend(job.target, graph_breaks=0)
    path = "AOTI C++ is required" if rec.technology == "aoti-cpp" else "ExecuTorch is the path"
    why = f"row {rec.row} ({job.target.id}): {path} and the table has no fallback"
    if facts.graph_breaks:
        n = len(facts.graph_breaks)
        result.failures.append(_break_failure(result, f"{n} graph break{'s' if n != 1 else ''}; "
                                                      f"{why}"))
    if not facts.export.ok:
        result.failures.append(_export_failure(result, why))
    return rec


def _without_fallback(job: Job, facts: Facts, result: CheckResult) -> None:
    """Rows 1, 2 and 6: breaks and export failures are hard failures; then the path runs."""
    rec = _no_fallback_failures(job, facts, result)
    if result.failures:
        return
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
    _apply(result, outcome)
    if outcome.executorch:
        result.failures.extend(gates(outcome.executorch, job.opts))


def _lines(items: list[str]) -> str:
    return "\n".join(f"  - {item}" for item in items)


def _break_failure(result: CheckResult, why: str) -> Failure:
    breaks = result.graph_breaks or []
    items = [f"{b.where}: [{b.type}] {b.reason} -> {b.hint}"
             + (f" (inside {b.library_frame})" if b.library_frame else "") for b in breaks]
    first = breaks[0] if breaks else None
    return Failure("graph_breaks", f"{why}:\n{_lines(items)}",
                   "remove each break at the user line shown (hints per break above)",
                   first.file if first else None, first.line if first else None)


def _export_failure(result: CheckResult, why: str) -> Failure:
    issues = result.export.issues if result.export else []
    items = [f"{display_path(i.file) if i.file else '<unknown>'}:{i.line}: [{i.kind}] "
             f"{i.message} -> {i.hint}" for i in issues]
    first = issues[0] if issues else None
    return Failure("export", f"torch.export failed with {len(issues)} "
                             f"issue{'s' if len(issues) != 1 else ''}; {why}:\n{_lines(items)}",
                   "fix each issue at the line shown (a hint follows each one above)",
                   first.file if first else None, first.line if first else None)
