"""The human explanation of one result: the row, the stage that failed, the user's line, the fix."""

from __future__ import annotations

from pytest_inferencecheck.result import CheckResult, Failure
from pytest_inferencecheck.support.locations import display_path


def _where(f: Failure) -> str:
    return f" at {display_path(f.file)}:{f.line}" if f.file else ""


def headline(result: CheckResult) -> str:
    """One line: model, target, row and technology, outcome."""
    rec = result.recommendation
    row = f"row {rec.row} -> {rec.technology}" if rec else "no row decided"
    proxy = " [proxy]" if result.proxy else ""
    level = " (quick level: nothing built or run)" if result.level == "quick" else ""
    return f"{result.model} on {result.target}{proxy}: {row}: {result.outcome.upper()}{level}"


def explain(result: CheckResult, *, details: bool = False) -> str:
    """Everything a user needs to act on a result, as plain text; with `details` (pytest's
    `--tb=long`), each failure's evidence in full too (a library's traceback, a runtime's log)."""
    rec = result.recommendation
    lines = [headline(result)]
    if rec:
        lines.append(f"  table: {rec.reason}")
    if result.proxy:
        lines.append(f"  proxy: {result.proxy}")
    if result.fallback:
        fb = result.fallback
        at = f" at {fb.where}" if fb.where else ""
        lines.append(f"  why not {fb.technology}: {fb.stage} failed{at}: {fb.error}")
        if fb.hint:
            lines.append(f"    to reach row 3: {fb.hint}")
    for f in result.failures:
        row = f"row {rec.row}, " if rec else ""
        head, _, rest = f.message.partition("\n")
        lines.append(f"  FAILED ({row}stage {f.stage}){_where(f)}: {head}")
        lines.extend(f"    {line}" for line in rest.splitlines())
        if f.hint:
            lines.append(f"    what to do: {f.hint}")
        if details and f.details and f.details not in f.message:
            lines.append("    details:")
            lines.extend(f"      {line}" for line in f.details.splitlines())
    if result.graph_breaks and not any(f.stage == "graph_breaks" for f in result.failures):
        lines.append(f"  graph breaks ({len(result.graph_breaks)}):")
        lines.extend(f"    - {b.describe()}" for b in result.graph_breaks)
    if result.export and not result.export.ok and not any(
            f.stage == "export" for f in result.failures):
        lines.append(f"  export issues ({len(result.export.issues)}):")
        lines.extend(f"    - {i.describe()}" for i in result.export.issues)
    if result.deviation:
        lines.append(f"  deviation: {result.deviation}")
    if result.numerics:
        n = result.numerics
        lines.append(f"  numerics vs eager: {'ok' if n.ok else 'MISMATCH'} over {n.compared} "
                     f"leaves, max abs err {n.max_abs_err:.3g}, max rel err {n.max_rel_err:.3g} "
                     f"(atol={n.atol:g}, rtol={n.rtol:g})")
    if result.numerics and result.numerics.second_shape is not None:
        n2 = result.numerics.second_shape
        lines.append(f"  second shape ({result.numerics.shapes}): {'ok' if n2.ok else 'MISMATCH'}, "
                     f"max abs err {n2.max_abs_err:.3g}")
    if result.executorch:
        et = result.executorch
        if "delegated_nodes" in et:
            total = et["delegated_nodes"] + et["non_delegated_nodes"]
            left = ", ".join(f"{op} x{n}" for op, n in et["ops_not_delegated"].items())
            lines.append(f"  executorch: {', '.join(et['partitioners'])} delegated "
                         f"{et['delegated_nodes']}/{total} nodes ({et['delegation']:.0%})"
                         + (f"; not delegated: {left}" if left else "")
                         + (f"; .pte {et['pte_bytes']} bytes" if "pte_bytes" in et else ""))
        if et.get("operators"):
            lines.append("  executorch operators the .pte needs outside its delegates: "
                         + ", ".join(o["operator"] for o in et["operators"]))
    if result.race:
        lines.append("  race: " + ", ".join(
            f"{e.backend} {e.median_ms:.3f}±{e.spread_ms:.3f} ms" if e.ok and e.median_ms
            is not None else f"{e.backend} out ({e.error})" for e in result.race))
    if result.latency and result.latency.artifact_ms is not None:
        lines.append(f"  latency: eager {result.latency.eager_ms:.3f} ms, artifact "
                     f"{result.latency.artifact_ms:.3f} ms"
                     + (f" ({result.latency.noise})" if result.latency.noise else ""))
    if result.skip_reason:
        lines.append(f"  skipped: {result.skip_reason}")
    lines.extend(f"  note: {n}" for n in result.notes)
    lines.append("  stages: " + ", ".join(f"{s.name} {s.status} {s.seconds:.2f}s"
                                          for s in result.stages))
    return "\n".join(lines)
