"""Graph-break baselines: a committed ratchet so a repository can adopt the gate with known breaks.

The file is JSON, sorted and indented. Entries are keyed by the check's identity (the test's node
id without the target parameter, a config model's name, or an explicit `name=`), never by a class
name, then by target. Each accepted break is keyed by its type and location (file relative to the
repository root, and function, not line, so that editing unrelated lines does not churn it), with
the number of times it occurs. An entry also records the test that wrote it, so that entries whose
tests are gone can be reported as stale.

Only breaks that decide a verdict are held: on the ExecuTorch rows (without `strict_export`) a
break is information (ExecuTorch's export never meets Dynamo), so it is neither recorded nor
compared, and an update drops such an entry.

Updates lock the file, re-read it and merge: two processes updating one baseline lose nothing.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pytest_inferencecheck.errors import BaselineError, InferenceCheckError  # noqa: F401 - re-exported
from pytest_inferencecheck.result import CheckResult, GraphBreak
from pytest_inferencecheck.store.locks import lock_file
from pytest_inferencecheck.support.files import write_atomic

SCHEMA = "inferencecheck-baseline/2"
Key = tuple[str, str, str]  # (type, file, function)
REGENERATE = "regenerate it with --inference-check-update-baseline"


def _rel(path: str | None, root: Path) -> str:
    if not path:
        return "<unknown>"
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def key_of(b: GraphBreak, root: Path) -> Key:
    """A break's baseline key. A break in library code with no user frame above it is keyed by
    the library's file from its package down (`transformers/models/...`), the same on every
    machine whatever the environment's path."""
    if b.file is None and b.library_frame:
        where, _, function = b.library_frame.rpartition(" in ")
        path = where.rsplit(":", 1)[0].replace(os.sep, "/")
        for marker in ("site-packages/", "dist-packages/"):
            if marker in path:
                path = path.rsplit(marker, 1)[1]
                break
        return (b.type, path, function)
    return (b.type, _rel(b.file, root), b.function or "<unknown>")


def empty() -> dict:
    """A baseline with no entries."""
    return {"schema": SCHEMA, "checks": {}}


def check_path(path: Path) -> None:
    """A baseline path must name a file (which may not exist yet)."""
    if path.is_dir():
        raise BaselineError(f"baseline {path} is a directory; give the path of a JSON file")


def load(path: Path) -> dict:
    """The baseline file (empty when it does not exist yet); a clear error when it is broken."""
    check_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty()
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {path} cannot be read ({exc}); {REGENERATE}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON ({exc}); fix it or "
                            f"{REGENERATE}") from None
    if isinstance(data, dict) and data.get("schema") == "inferencecheck-baseline/1":
        raise BaselineError(f"baseline {path} is an inferencecheck-baseline/1 file, keyed by "
                            f"model class names; {REGENERATE} (entries are now keyed by test)")
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or \
            not isinstance(data.get("checks"), dict):
        raise BaselineError(f"baseline {path} is not an {SCHEMA} file; {REGENERATE}")
    for identity, targets in data["checks"].items():
        if not isinstance(targets, dict):
            raise _malformed(path, identity, None, "must map targets to entries")
        for target, entry in targets.items():
            _validate_entry(path, identity, target, entry)
    return data


def _malformed(path: Path, identity: str, target: str | None, why: str) -> BaselineError:
    where = f"{identity!r}" + (f" on {target!r}" if target else "")
    return BaselineError(f"baseline {path}: the entry for {where} {why}; fix it or {REGENERATE}")


def _validate_entry(path: Path, identity: str, target: str, entry: object) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("breaks"), list):
        raise _malformed(path, identity, target, "must be an object with a 'breaks' list")
    for b in entry["breaks"]:
        ok = isinstance(b, dict) and all(isinstance(b.get(k), str)
                                         for k in ("type", "file", "function")) \
            and isinstance(b.get("count"), int) and not isinstance(b.get("count"), bool) \
            and b["count"] >= 0
        if not ok:
            raise _malformed(path, identity, target, f"has a malformed break {b!r} (each needs "
                             "string type, file and function and a count >= 0)")


def _accepted(data: dict, identity: str, target: str) -> Counter | None:
    entry = data["checks"].get(identity, {}).get(target)
    if entry is None:
        return None
    return Counter({(b["type"], b["file"], b["function"]): b["count"] for b in entry["breaks"]})


@dataclass
class Verdict:
    """How a result compares with its baseline entry."""

    regressions: list[str]
    improvements: list[str]
    missing: bool = False  # no entry for this check: every break is new
    first_new: GraphBreak | None = None  # where to point: the first break beyond the accepted


def compare(result: CheckResult, data: dict, root: Path) -> Verdict:
    """Breaks beyond the accepted ones are regressions (all of them when the check has no entry);
    accepted ones now gone are improvements."""
    if result.graph_breaks is None:
        return Verdict([], [])
    accepted = _accepted(data, result.identity or result.model, result.target)
    now = Counter(key_of(b, root) for b in result.graph_breaks)
    fmt = lambda k, n: f"[{k[0]}] {k[1]} in {k[2]} (x{n})"  # noqa: E731
    missing = accepted is None
    accepted = accepted or Counter()
    regressions = [fmt(k, n - accepted[k]) for k, n in sorted(now.items()) if n > accepted[k]]
    improvements = [fmt(k, n - now[k]) for k, n in sorted(accepted.items()) if n > now[k]]
    first_new = next((b for b in result.graph_breaks
                      if now[key_of(b, root)] > accepted[key_of(b, root)]), None)
    return Verdict(regressions, improvements, missing and bool(regressions), first_new)


def stale(data: dict, root: Path, *, collected_tests: set[str], collected_files: set[str]
          ) -> list[tuple[str, str, str]]:
    """Entries whose test is gone: its file no longer exists, or the file was collected in this
    run and holds no such test any more. Entries of files not collected are left alone."""
    out = []
    for identity, targets in sorted(data["checks"].items()):
        for target, entry in sorted(targets.items()):
            test = entry.get("test")
            if not isinstance(test, str):
                continue  # written outside pytest (`inferencecheck run`): nothing to look for
            file = test.split("::", 1)[0]
            gone = not (root / file).exists() or (file in collected_files
                                                   and test not in collected_tests)
            if gone:
                out.append((identity, target, test))
    return out


def merged(data: dict, results: Iterable[CheckResult], root: Path, *,
           drop: Iterable[tuple[str, str]] = ()) -> dict:
    """The baseline with this run's entries replaced, `drop` removed, others kept."""
    checks = {m: dict(t) for m, t in data.get("checks", {}).items()}
    for identity, target in drop:
        checks.get(identity, {}).pop(target, None)
    for r in results:
        if r.graph_breaks is None:
            continue  # never measured (e.g. eager failed): keep what was accepted
        if not r.breaks_decide:  # information only (ExecuTorch, non-strict): nothing to hold
            checks.get(r.identity or r.model, {}).pop(r.target, None)
            continue
        counts = Counter(key_of(b, root) for b in r.graph_breaks)
        entry = {"count": sum(counts.values()),
                 "breaks": [{"type": k[0], "file": k[1], "function": k[2], "count": n}
                            for k, n in sorted(counts.items())]}
        if r.test:
            entry["test"] = r.test
        checks.setdefault(r.identity or r.model, {})[r.target] = entry
    return {"schema": SCHEMA,
            "checks": {m: dict(sorted(t.items())) for m, t in sorted(checks.items()) if t}}


def update(path: Path, results: list[CheckResult], root: Path, *,
           collected_tests: set[str] | None = None,
           collected_files: set[str] | frozenset[str] = frozenset()
           ) -> str:
    """Merge this run's entries into the file under a lock (re-read first: a concurrent update is
    kept), dropping the entries whose tests are gone (when the run says what it collected). A
    corrupt or old-format file is replaced. Returns a line saying what happened."""

    check_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = lock_file(path.with_name(f".{path.name}.lock"), exclusive=True)
    except OSError as exc:
        raise BaselineError(f"cannot lock the baseline {path}: {exc.strerror or exc}") from None
    try:
        replaced = ""
        try:
            current = load(path)
        except BaselineError as exc:
            current, replaced = empty(), f" (the old file was replaced: {exc})"
        gone = [] if collected_tests is None else [
            (identity, target) for identity, target, _ in stale(
                current, root, collected_tests=collected_tests, collected_files=collected_files)]
        data = merged(current, results, root, drop=gone)
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", what="baseline")
    finally:
        os.close(fd)
    dropped = f"; dropped {len(gone)} stale entries" if gone else ""
    return f"baseline updated: {path}{replaced}{dropped}"
