"""GitHub Actions: workflow-command annotations at the user's lines, and the step summary."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_inferencecheck.reporters import summary
from pytest_inferencecheck.result import CheckResult
from pytest_inferencecheck.support.sizes import human
from pytest_inferencecheck.support.workflow_commands import command


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    try:
        return os.path.relpath(path, root) if os.path.isabs(path) else path
    except ValueError:
        return path


def annotations(results: list[CheckResult], *, root: Path) -> list[str]:
    """An annotation per graph break, export issue and deviation; error where it fails the check.

    The level follows the verdict already in the result: a deviation is an error exactly when
    the gate made it a failure (strict), a warning otherwise."""
    lines = []
    for r in results:
        if r.expected_failure:
            continue
        rec = r.recommendation
        row = f"row {rec.row} ({rec.technology})" if rec else "no row"
        failed_stages = {f.stage for f in r.failures}
        where = f"{r.model} on {r.target}" + (" [quick]" if r.level == "quick" else "")
        for b in r.graph_breaks or []:
            level = "error" if failed_stages & {"graph_breaks", "baseline"} else "warning"
            inside = f" (library code: {b.library_frame})" if b.library_frame else ""
            lines.append(command(level, f"{b.reason}{inside}\n-> {b.hint}",
                                 file=_relative(b.file, root), line=b.line,
                                 title=f"graph break [{b.type}] in {where}, {row}"))
        if r.export and not r.export.ok:
            level = "error" if "export" in failed_stages else "warning"
            for i in r.export.issues:
                lines.append(command(level, f"{i.message}\n-> {i.hint}",
                                     file=_relative(i.file, root), line=i.line,
                                     title=f"export issue [{i.kind}] in {where}, {row}"))
        src = r.source
        if r.deviation:
            lines.append(command("error" if "deviation" in failed_stages else "warning",
                                 r.deviation, file=_relative(src.file, root) if src else None,
                                 line=src.line if src else None,
                                 title=f"deviation from the table: {where}"))
        for f in r.failures:
            if f.stage not in {"graph_breaks", "export", "deviation"}:
                file, line = (f.file, f.line) if f.file else \
                    ((src.file, src.line) if src else (None, None))
                lines.append(command("error", f.message + (f"\n-> {f.hint}" if f.hint else ""),
                                     file=_relative(file, root), line=line,
                                     title=f"{where}: {row}, stage {f.stage} failed"))
    return lines


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def latency_charts(results: list[CheckResult]) -> list[str]:
    """Per model, a Mermaid `xychart-beta`: the artifact's latency per target (bars) against
    eager's (line), in milliseconds. Models without a measured artifact latency are left out."""
    by_model: dict[str, list[CheckResult]] = {}
    for r in results:
        lat = r.latency
        if lat and lat.artifact_ms is not None and lat.eager_ms is not None:
            by_model.setdefault(r.model, []).append(r)
    out = []
    for model, group in by_model.items():
        targets = ", ".join(_quoted(r.target + (" (proxy)" if r.proxy else "")) for r in group)
        top = max(max(r.latency.artifact_ms, r.latency.eager_ms) for r in group)  # type: ignore
        out += ["", "```mermaid", "xychart-beta",
                f"    title {_quoted(f'{model}: artifact (bars) vs eager (line), ms')}",
                f"    x-axis [{targets}]",
                f'    y-axis "latency (ms)" 0 --> {top * 1.1:.4g}',
                "    bar [" + ", ".join(f"{r.latency.artifact_ms:.4g}" for r in group) + "]",  # type: ignore
                "    line [" + ", ".join(f"{r.latency.eager_ms:.4g}" for r in group) + "]",  # type: ignore
                "```"]
    return out


def step_summary(results: list[CheckResult]) -> str:
    """A Markdown table for `$GITHUB_STEP_SUMMARY`, then the deviations and latency charts."""
    rows = [summary.row_of(r) for r in results]
    head = "| " + " | ".join(summary.COLUMNS) + " |"
    sep = "|" + "---|" * len(summary.COLUMNS)
    body = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    out = ["### pytest-inferencecheck", "", head, sep, *body]
    deviations = [r for r in results if r.deviation]
    if deviations:
        out += ["", "**Deviations from the table**", ""]
        out += [f"- `{r.nodeid or r.model}`: {r.deviation}" for r in deviations]
    team = summary.team_traffic(results)
    if team["fetched"] or team["published"]:
        out += ["", f"**Team store**: {team['fetched']} entries fetched "
                    f"({human(team['fetched_bytes'])} down), {team['published']} published "
                    f"({human(team['published_bytes'])} up)"]
    charts = latency_charts(results)
    if charts:
        out += ["", "**Latency per target**", *charts]
    return "\n".join(out) + "\n"


def emit(results: list[CheckResult], write, *, root: Path,  # type: ignore[no-untyped-def]
         environ=os.environ) -> None:
    """Under `GITHUB_ACTIONS=true`: print the annotations and append the step summary."""
    if environ.get("GITHUB_ACTIONS") != "true" or not results:
        return
    for line in annotations(results, root=root):
        write(line)
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(step_summary(results))
