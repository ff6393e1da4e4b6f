"""The gate's verdict on one result, decided once: strict deviations and baseline regressions
become failures of the result itself, so that the pytest item, the terminal, the JSON and JUnit
reports, the annotations and the step summary all say the same thing.

decide() runs once per result, in the process that checked it (the item's outcome depends on
it); every renderer reads `result.outcome` and `result.failures` and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_inferencecheck.gate import baseline
from pytest_inferencecheck.result import CheckResult, Failure

STRICT = "(this fails under --inference-check-strict)"


@dataclass
class Gate:
    """What the run holds results to: the strict rule and the baseline, loaded once."""

    strict: bool = False
    baseline_path: Path | None = None
    baseline_data: dict | None = None  # None: no baseline, or one being rewritten (no gating)
    root: Path = Path(".")

    @classmethod
    def from_settings(cls, settings, root: Path) -> Gate:  # type: ignore[no-untyped-def]
        """The run's gate; a broken baseline is a `BaselineError` unless it is being updated."""
        path = root / settings.baseline if settings.baseline else None
        data = None
        if path is not None:
            baseline.check_path(path)
            if not settings.update_baseline:
                data = baseline.load(path)
        return cls(settings.strict, path, data, root)


def decide(result: CheckResult, gate: Gate) -> list[str]:
    """Apply the gate to a result: failures added to it; returns the warnings left (non-strict)."""
    warnings = []
    # breaks that decide nothing (the ExecuTorch rows, non-strict) are not held to the baseline
    if gate.baseline_data is not None and result.graph_breaks is not None \
            and result.breaks_decide:
        verdict = baseline.compare(result, gate.baseline_data, gate.root)
        name = f"the baseline {gate.baseline_path.name}" if gate.baseline_path else "the baseline"
        if verdict.regressions:
            first = verdict.first_new or result.graph_breaks[0]
            why = (f"{name} has no entry for {result.identity or result.model} on "
                   f"{result.target}" if verdict.missing else
                   f"{len(result.graph_breaks)} graph breaks, more than {name} accepts")
            result.failures.append(Failure(
                "baseline", f"{why}; new: " + "; ".join(verdict.regressions),
                "remove the new breaks, or accept them with --inference-check-update-baseline "
                "and commit the baseline", first.file, first.line))
        if verdict.improvements:
            tighten = (f"{name} can be tightened (gone: "
                       f"{'; '.join(verdict.improvements)}): run "
                       "--inference-check-update-baseline and commit it")
            _warn_or_fail(result, gate, "baseline", tighten, warnings)
    if result.deviation:
        _warn_or_fail(result, gate, "deviation", result.deviation, warnings)
    return warnings


def _warn_or_fail(result: CheckResult, gate: Gate, stage: str, message: str,
                  warnings: list[str]) -> None:
    if not gate.strict:
        warnings.append(message)
        if stage == "baseline":
            result.notes.append(message)
        return
    src = result.source
    result.failures.append(Failure(
        stage, f"{message} {STRICT}",
        "follow the table, or drop --inference-check-strict (strict = false) to warn instead",
        src.file if src else None, src.line if src else None))
