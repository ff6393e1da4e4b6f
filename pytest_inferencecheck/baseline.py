"""Graph-break baselines: a committed ratchet so a repository can adopt the gate with known breaks.

The file is JSON, sorted and indented, keyed by model and target; each accepted break is keyed by
its type and user location (file relative to the repository root, and function, not line, so that
editing unrelated lines does not churn it).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import InferenceCheckError
from .result import CheckResult, GraphBreak

SCHEMA = "inferencecheck-baseline/1"
Key = tuple[str, str, str]  # (type, file, function)


def _rel(path: str | None, root: Path) -> str:
    if not path:
        return "<unknown>"
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def key_of(b: GraphBreak, root: Path) -> Key:
    """A break's baseline key."""
    return (b.type, _rel(b.file, root), b.function or "<unknown>")


def load(path: Path) -> dict:
    """The baseline file ({} entries when it does not exist yet); clear errors when it is broken."""
    if not path.exists():
        return {"schema": SCHEMA, "models": {}}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InferenceCheckError(f"baseline {path} is not valid JSON ({exc}); fix it or "
                                  "regenerate it with --inference-check-update-baseline") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or \
            not isinstance(data.get("models"), dict):
        raise InferenceCheckError(f"baseline {path} is not an {SCHEMA} file; regenerate it with "
                                  "--inference-check-update-baseline")
    return data


def _accepted(data: dict, model: str, target: str) -> Counter | None:
    entry = data["models"].get(model, {}).get(target)
    if entry is None:
        return None
    return Counter({(b["type"], b["file"], b["function"]): int(b["count"])
                    for b in entry.get("breaks", [])})


@dataclass
class Verdict:
    """How a result compares with its baseline entry."""

    regressions: list[str]
    improvements: list[str]


def compare(result: CheckResult, data: dict, root: Path) -> Verdict:
    """Breaks beyond the accepted ones are regressions; accepted ones now gone are improvements."""
    accepted = _accepted(data, result.model, result.target)
    if accepted is None or result.graph_breaks is None:
        return Verdict([], [])
    now = Counter(key_of(b, root) for b in result.graph_breaks)
    fmt = lambda k, n: f"[{k[0]}] {k[1]} in {k[2]} (x{n})"  # noqa: E731
    regressions = [fmt(k, n - accepted[k]) for k, n in sorted(now.items()) if n > accepted[k]]
    improvements = [fmt(k, n - now[k]) for k, n in sorted(accepted.items()) if n > now[k]]
    return Verdict(regressions, improvements)


def updated(data: dict, results: list[CheckResult], root: Path) -> dict:
    """The baseline with this run's (model, target) entries replaced; others kept."""
    models = {m: dict(t) for m, t in data.get("models", {}).items()}
    for r in results:
        if r.graph_breaks is None:
            continue  # never measured (e.g. eager failed): keep what was accepted
        counts = Counter(key_of(b, root) for b in r.graph_breaks)
        models.setdefault(r.model, {})[r.target] = {
            "count": sum(counts.values()),
            "breaks": [{"type": k[0], "file": k[1], "function": k[2], "count": n}
                       for k, n in sorted(counts.items())]}
    return {"schema": SCHEMA,
            "models": {m: dict(sorted(t.items())) for m, t in sorted(models.items())}}


def write(path: Path, data: dict) -> None:
    """Write deterministically (sorted, indented, trailing newline) and atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
