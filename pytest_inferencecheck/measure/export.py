"""Export a model with `torch.export` and, when it fails, list every issue at once."""

from __future__ import annotations

import inspect
import re
import traceback
from dataclasses import dataclass
from typing import Any

import torch

from pytest_inferencecheck.measure.hints import DRAFT_KIND_HINTS, classify_export_error
from pytest_inferencecheck.result import ExportFacts, ExportIssue
from pytest_inferencecheck.support import compat
from pytest_inferencecheck.support.locations import locate
from pytest_inferencecheck.support.quiet import quiet_torch

_RAISED_AT = re.compile(r'The following call raised this error:\s*\n\s*File "(?P<file>[^"]+)", '
                        r"line (?P<line>\d+)")


@dataclass
class Exported:
    """The facts, and the program when export succeeded (the only one ever used for artifacts)."""

    facts: ExportFacts
    program: torch.export.ExportedProgram | None
    error: BaseException | None = None


def _first_line(exc: BaseException, limit: int = 240) -> str:
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    if len(text) > limit:  # torch messages run long; keep the first sentences that fit
        cut = text.rfind(". ", 0, limit)
        text = text[: cut + 1] if cut > 0 else text[:limit] + "..."
    return f"{type(exc).__name__}: {text}"


def _forward_location(model: torch.nn.Module) -> tuple[str | None, int | None]:
    try:
        fn = inspect.unwrap(type(model).forward)
        return inspect.getsourcefile(fn), inspect.getsourcelines(fn)[1]
    except (TypeError, OSError):
        return None, None


def issue_from_exception(exc: BaseException, model: torch.nn.Module, *,
                         strict: bool = False) -> ExportIssue:
    """Describe an export exception (of a `strict` export or not): kind, first line, user
    location, hint."""
    message = str(exc)
    kind, hint = classify_export_error(message, strict=strict)
    file = line = None
    m = _RAISED_AT.search(message)
    if m:
        file, line = m.group("file"), int(m.group("line"))
    else:
        frames = [(f.filename, f.lineno or 0, f.name) for f in traceback.extract_tb(exc.__traceback__)]
        user, _ = locate(frames)
        if user and user.user_code:
            file, line = user.file, user.line
        else:  # e.g. an output type problem: point at the forward that produced it
            file, line = _forward_location(model)
    return ExportIssue(kind=kind, message=_first_line(exc), file=file, line=line, hint=hint)


def _filename_table(report: Any) -> dict[int, str]:
    """Frame file ids -> names. The report only has names first seen during its own call, so
    a second draft export in one process needs torch's process-wide intern table as well."""
    names = compat.interned_filenames()
    names.update(getattr(report, "str_to_filename", {}) or {})
    return names


def _draft_issues(model: torch.nn.Module, args: tuple, kwargs: dict,
                  dynamic_shapes: Any) -> list[ExportIssue]:
    """Every issue `draft_export` finds. Its program can be wrong, so only its report is used."""
    draft_export = compat.draft_export()
    if draft_export is None:  # torch < 2.7: the export error alone is reported
        return []
    try:
        with quiet_torch():
            ep = draft_export(model, args, kwargs, dynamic_shapes=dynamic_shapes)
    except Exception:  # noqa: BLE001 - the same failure as export itself: nothing more to learn
        return []
    report = compat.draft_report(ep)
    names = _filename_table(report)
    issues = []
    for failure in getattr(report, "failures", []) or []:
        ftype = getattr(failure.failure_type, "name", str(failure.failure_type))
        kind, hint = DRAFT_KIND_HINTS.get(ftype, (ftype.lower().replace("_", "-"), ""))
        data = failure.data or {}
        frames = [(names.get(f.get("filename"), str(f.get("filename"))), int(f.get("line") or 0),
                   f.get("name", "?")) for f in data.get("user_stack") or []]
        user, _ = locate(frames)
        expr = data.get("expr") or data.get("op") or ""
        what = {"data-dependent": f"could not decide `{expr}`: it depends on tensor values"}.get(
            kind, f"{ftype.lower().replace('_', ' ')} {expr}".strip())
        issues.append(ExportIssue(kind=kind, message=what, file=user.file if user else None,
                                  line=user.line if user else None, hint=hint))
    return issues


def merge_issues(first: ExportIssue, drafts: list[ExportIssue]) -> list[ExportIssue]:
    """Export's own error first, then what draft export found besides it: an issue of the same
    kind at the same place, or of the same kind with no place at all, is the same issue again."""
    issues = [first]
    for issue in drafts:
        seen = [i for i in issues if i.kind == issue.kind]
        if any(issue.file is None or (i.file, i.line) == (issue.file, issue.line) for i in seen):
            continue
        issues.append(issue)
    return issues


def export_model(model: torch.nn.Module, args: tuple, kwargs: dict, *,
                 dynamic_shapes: Any = None, strict: bool = False) -> Exported:
    """`torch.export.export` the model; on failure, enumerate every issue with a hint."""
    try:
        with quiet_torch():
            ep = torch.export.export(model, args, kwargs, dynamic_shapes=dynamic_shapes,
                                     strict=strict)
        return Exported(ExportFacts(ok=True, strict=strict), ep)
    except Exception as exc:  # noqa: BLE001 - every export failure is a fact to report
        first = issue_from_exception(exc, model, strict=strict)
        drafts = ([] if first.kind.startswith("unregistered-pytree")
                  else _draft_issues(model, args, kwargs, dynamic_shapes))
        issues = merge_issues(first, drafts)
        return Exported(ExportFacts(ok=False, strict=strict, issues=issues), None, exc)
