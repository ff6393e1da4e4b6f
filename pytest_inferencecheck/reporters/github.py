"""GitHub Actions: workflow-command annotations at the user's lines, and the step summary."""

from __future__ import annotations

import os
from pathlib import Path

from ..result import CheckResult
from . import summary


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (also ':' and ',')."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, *, file: str | None = None, line: int | None = None,
            col: int | None = None, title: str | None = None) -> str:
    """One `::error file=...,line=...,col=...,title=...::message` line."""
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line:
            props.append(f"line={line}")
            if col:
                props.append(f"col={col}")
    if title:
        props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}" if props else \
        f"::{level}::{escape_data(message)}"


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    try:
        return os.path.relpath(path, root) if os.path.isabs(path) else path
    except ValueError:
        return path


def annotations(results: list[CheckResult], *, root: Path, strict: bool = False) -> list[str]:
    """An annotation per graph break, export issue and deviation; error where it fails the check."""
    lines = []
    for r in results:
        if r.expected_failure:
            continue
        rec = r.recommendation
        row = f"row {rec.row} ({rec.technology})" if rec else "no row"
        failed_stages = {f.stage for f in r.failures}
        where = f"{r.model} on {r.target}"
        for b in r.graph_breaks or []:
            level = "error" if "graph_breaks" in failed_stages else "warning"
            lines.append(command(level, f"{b.reason}\n-> {b.hint}", file=_relative(b.file, root),
                                 line=b.line, title=f"graph break [{b.type}] in {where}, {row}"))
        if r.export and not r.export.ok:
            level = "error" if "export" in failed_stages else "warning"
            for i in r.export.issues:
                lines.append(command(level, f"{i.message}\n-> {i.hint}",
                                     file=_relative(i.file, root), line=i.line,
                                     title=f"export issue [{i.kind}] in {where}, {row}"))
        if r.deviation:
            lines.append(command("error" if strict else "warning", r.deviation,
                                 title=f"deviation from the table: {where}"))
        for f in r.failures:
            if f.stage not in {"graph_breaks", "export"}:
                lines.append(command("error", f.message + (f"\n-> {f.hint}" if f.hint else ""),
                                     file=_relative(f.file, root), line=f.line,
                                     title=f"{where}: {row}, stage {f.stage} failed"))
    return lines


def step_summary(results: list[CheckResult]) -> str:
    """A Markdown table for `$GITHUB_STEP_SUMMARY`."""
    rows = [summary.row_of(r) for r in results]
    head = "| " + " | ".join(summary.COLUMNS) + " |"
    sep = "|" + "---|" * len(summary.COLUMNS)
    body = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    out = ["### pytest-inferencecheck", "", head, sep, *body]
    deviations = [r for r in results if r.deviation]
    if deviations:
        out += ["", "**Deviations from the table**", ""]
        out += [f"- `{r.nodeid or r.model}`: {r.deviation}" for r in deviations]
    return "\n".join(out) + "\n"


def emit(results: list[CheckResult], write, *, root: Path, strict: bool,  # type: ignore[no-untyped-def]
         environ=os.environ) -> None:
    """Under `GITHUB_ACTIONS=true`: print the annotations and append the step summary."""
    if environ.get("GITHUB_ACTIONS") != "true" or not results:
        return
    for line in annotations(results, root=root, strict=strict):
        write(line)
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(step_summary(results))
