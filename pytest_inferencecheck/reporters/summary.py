"""The end-of-run terminal summary, rendered from JSON-report result dicts (pure)."""

from __future__ import annotations

from collections import defaultdict

from ..locations import display_path

COLUMNS = ("model", "target", "row", "technology", "breaks", "export", "parity", "time", "outcome")


def _parity(r: dict) -> str:
    n = r.get("numerics")
    if not n:
        return "-"
    text = f"{n['max_abs_err']:.1e}"
    return text if n["ok"] else f"{text} MISMATCH"


def row_of(r: dict) -> tuple[str, ...]:
    """One summary row for a result."""
    rec = r.get("recommendation") or {}
    gb = r.get("graph_breaks")
    export = r.get("export")
    seconds = sum(s["seconds"] for s in r.get("stages", []))
    target = r["target"] + (" (proxy)" if r.get("proxy") else "")
    tech = rec.get("technology", "-")
    if rec.get("backend") and rec.get("row") == 7:
        tech += f" [{rec['backend']}]"
    return (r["model"], target, str(rec.get("row", "-")), tech,
            "-" if gb is None else str(gb["count"]),
            "-" if export is None else ("ok" if export["ok"] else f"{len(export['issues'])} issues"),
            _parity(r), f"{seconds:.1f}s",
            r["outcome"] + (" (xfail)" if r.get("xfail") else "")
            + (" (deviation)" if r.get("deviation") else ""))


def render(results: list[dict]) -> list[str]:
    """Lines of the summary: the table, the deviations, graph breaks grouped by user location."""
    rows = [COLUMNS] + [row_of(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    deviations = [r for r in results if r.get("deviation")]
    if deviations:
        lines += ["", "deviations from the table:"]
        lines += [f"  {r.get('nodeid') or r['model']}: {r['deviation']}" for r in deviations]
    by_location: dict[tuple, list[str]] = defaultdict(list)
    details: dict[tuple, dict] = {}
    for r in results:
        for b in (r.get("graph_breaks") or {}).get("breaks", []):
            key = (b["file"], b["line"], b["type"])
            by_location[key].append(f"{r['model']}@{r['target']}")
            details[key] = b
    if by_location:
        lines += ["", "graph breaks by location:"]
        for key in sorted(by_location, key=lambda k: (str(k[0]), k[1] or 0, k[2])):
            b = details[key]
            where = (f"{display_path(b['file'])}:{b['line']} in {b['function']}" if b["file"]
                     else b.get("library_frame") or "<unknown location>")
            seen = ", ".join(dict.fromkeys(by_location[key]))
            lines.append(f"  {where}  [{b['type']}] {b['reason'][:90]}")
            lines.append(f"      -> {b['hint']}  ({seen})")
    return lines
