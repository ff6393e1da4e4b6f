"""The result of one (model, target) check: facts, stages, verdict. Reporters render it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pytest_inferencecheck.recommendations.decision import Recommendation
from pytest_inferencecheck.recommendations.table import TARGETS
from pytest_inferencecheck.support.locations import display_path
from pytest_inferencecheck.support.timing import Timing

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

MEASURED_PLACES = 4  # seconds and milliseconds are kept to this many decimal places


def _measured(value: float | None) -> float | None:
    """Round a measurement once, on entry, so the terminal, JSON and JUnit show the same value.

    Rounding only when writing the report rounded twice on the way back (0.01749 -> 0.0175 ->
    "0.018" against "0.017" from the unrounded value), so a result read back from a worker
    rendered differently from the one that was measured.
    """
    return None if value is None else round(value, MEASURED_PLACES)


#: What obtaining a store entry did.
BUILT, REUSED, REBUILT = "built", "reused", "rebuilt"


@dataclass(frozen=True)
class Use:
    """What obtaining one entry did: `built`, `reused` or `rebuilt`, and why when not plain."""

    kind: str
    key: str
    status: str
    bytes: int = 0
    note: str | None = None

    @property
    def short_key(self) -> str:
        """The first 12 characters of the key, as shown on stage lines."""
        return self.key[:12]


@dataclass
class GraphBreak:
    """One graph break, deduplicated by (type, user file:line)."""

    type: str  # PyTorch's GBxxxx id where it has one, else its gb_type text
    name: str  # PyTorch's short name of the break kind
    reason: str
    file: str | None
    line: int | None
    function: str | None
    user_code: bool
    hint: str
    library_frame: str | None = None  # where in a library the break happened, below the user line

    @property
    def where(self) -> str:
        """The user location as `file:line in function`, or a note that none is known."""
        if self.file is None:  # inside a library, with no user frame above it
            return f"{self.library_frame} (library code)" if self.library_frame else \
                "<unknown location>"
        return f"{display_path(self.file)}:{self.line} in {self.function}"

    def describe(self) -> str:
        """One line: where, the break, what to do; the library frame below a user line once."""
        inside = (f" (inside {self.library_frame})"
                  if self.file is not None and self.library_frame else "")
        return f"{self.where}: [{self.type}] {self.reason} -> {self.hint}{inside}"

    def to_dict(self) -> dict:
        """Render as one entry of `graph_breaks.breaks` in the JSON report."""
        return dataclasses.asdict(self)


@dataclass
class ExportIssue:
    """One reason `torch.export` cannot capture the model, with a location and what to do."""

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    hint: str = ""

    @property
    def where(self) -> str | None:
        """`file:line` in the user's code, or None when torch named no location."""
        if self.file is None:
            return None
        return f"{display_path(self.file)}:{self.line}" if self.line else display_path(self.file)

    def describe(self) -> str:
        """One line: where (when known), the issue, what to do."""
        where = f"{self.where}: " if self.where else ""
        return f"{where}[{self.kind}] {self.message} -> {self.hint}"

    def to_dict(self) -> dict:
        """Render as one entry of `export.issues` in the JSON report."""
        return dataclasses.asdict(self)


@dataclass
class ExportFacts:
    """Whether `torch.export.export` captured the model, and every issue when it did not."""

    ok: bool
    strict: bool
    issues: list[ExportIssue] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Render as the `export` entry of the JSON report."""
        return {"ok": self.ok, "strict": self.strict, "issues": [i.to_dict() for i in self.issues]}

    @classmethod
    def from_dict(cls, d: dict) -> ExportFacts:
        """Rebuild from `to_dict()`."""
        return cls(ok=d["ok"], strict=d.get("strict", False),
                   issues=[ExportIssue(**i) for i in d["issues"]])


#: Every stage a check records or fails at, in the order a check meets them. Reports, hints and
#: the skipped stages of the quick level name stages only from here (tests/unit/result/test_result_types.py
#: reads every stage name in the package and holds it to this list).
StageName = Literal[
    "device", "eager", "graph_breaks", "export",  # the facts, measured on every check
    "race",  # row 7
    "aoti_compile", "aoti_load", "runner_build",  # AOTInductor, Python and C++
    "compile",  # torch.compile
    "lower", "to_executorch", "et_load", "delegation", "pte_size", "executorch",  # ExecuTorch
    "executorch_operators",  # the app's operator set
    "run", "run_second_shape", "compare", "compare_second_shape", "latency",  # every artifact
    "deviation", "baseline",  # the gate
    "timeout", "interrupted", "crashed", "internal",  # how a check can end early
]
STAGES: tuple[str, ...] = get_args(StageName)


@dataclass
class Stage:
    """One timed step of a check (eager, graph_breaks, export, compile, load, run, compare...)."""

    name: StageName
    status: str  # passed | failed | skipped
    seconds: float
    detail: str = ""

    def __post_init__(self) -> None:
        self.seconds = _measured(self.seconds)

    def to_dict(self) -> dict:
        """Render as one entry of `stages` in the JSON report."""
        return dataclasses.asdict(self)


@dataclass
class Mismatch:
    """One output leaf that differs from eager beyond tolerance (or in shape, dtype, kind)."""

    path: str
    message: str
    max_abs_err: float | None = None
    max_rel_err: float | None = None

    def to_dict(self) -> dict:
        """Render as one entry of `numerics.mismatches`."""
        return dataclasses.asdict(self)


@dataclass
class Numerics:
    """Every output leaf of an artifact against eager."""

    ok: bool
    max_abs_err: float
    max_rel_err: float
    atol: float
    rtol: float
    compared: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    second_shape: Numerics | None = None  # with dynamic_shapes: the artifact at another shape
    shapes: str | None = None  # which inputs changed shape, for `second_shape`

    def to_dict(self) -> dict:
        """Render as the `numerics` entry of the JSON report."""
        d = {"ok": self.ok, "max_abs_err": self.max_abs_err, "max_rel_err": self.max_rel_err,
             "atol": self.atol, "rtol": self.rtol, "compared": self.compared,
             "mismatches": [m.to_dict() for m in self.mismatches], "notes": list(self.notes)}
        if self.shapes is not None:
            d["shapes"] = self.shapes
        if self.second_shape is not None:
            d["second_shape"] = self.second_shape.to_dict()
        return d


@dataclass
class Latency:
    """Steady-state median latency of eager and of the artifact, in milliseconds."""

    eager_ms: float | None = None
    artifact_ms: float | None = None
    load: float | None = None  # the host's load per core while measured (None: unknown)

    def __post_init__(self) -> None:
        self.eager_ms, self.artifact_ms = _measured(self.eager_ms), _measured(self.artifact_ms)

    @property
    def noise(self) -> str | None:
        """A word on the figures' noise when the host was busy while they were measured."""
        if self.load is None or self.load <= 1.0:
            return None
        return (f"measured on a loaded host ({self.load:.1f} runnable tasks per core): the "
                "figures are noisy; compare latencies on a quiet machine")

    def to_dict(self) -> dict:
        """Render as the `latency` entry of the JSON report."""
        return dataclasses.asdict(self)


@dataclass
class RaceEntry:
    """One torch.compile backend in the row-7 race: checked against eager, then timed.

    Median and spread are derived from the samples, so the verdict, the report and a result
    read back from JSON all rest on the same numbers.
    """

    backend: str
    ok: bool
    samples_ms: tuple[float, ...] = ()
    max_abs_err: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        self.samples_ms = tuple(_measured(v) for v in self.samples_ms)

    @property
    def timing(self) -> Timing | None:
        """The samples summarised; None for a backend that was not timed."""
        return Timing(self.samples_ms) if self.samples_ms else None

    @property
    def median_ms(self) -> float | None:
        """The median sample."""
        timing = self.timing
        return timing.median if timing else None

    @property
    def spread_ms(self) -> float | None:
        """The interquartile range of the samples."""
        timing = self.timing
        return timing.spread if timing else None

    def to_dict(self) -> dict:
        """Render as one entry of `race` in the JSON report."""
        return {"backend": self.backend, "ok": self.ok, "median_ms": _measured(self.median_ms),
                "spread_ms": _measured(self.spread_ms), "max_abs_err": self.max_abs_err,
                "error": self.error, "samples_ms": list(self.samples_ms)}


def _params(nodeid: str) -> tuple[str, str] | None:
    """`path::test_x[a-b]` -> (`path::test_x`, `a-b`); None without parameters."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    name, _, ids = nodeid[:-1].partition("[")
    return name, ids


def _has(ids: str, target: str) -> bool:
    """Whether `target` is one of the `-`-joined parameter ids (targets hold `-` themselves)."""
    return f"-{target}-" in f"-{ids}-"


def without_target(nodeid: str, target: str) -> str:
    """`test_x[server-x86-python-small]` -> `test_x[small]`; `test_x[mac]` -> `test_x`."""
    split = _params(nodeid)
    if split is None or not _has(split[1], target):
        return nodeid
    name, ids = split
    rest = f"-{ids}-".replace(f"-{target}-", "-", 1)[1:-1]
    return f"{name}[{rest}]" if rest else name


def target_in(nodeid: str) -> str | None:
    """The deployment target among a node id's parameters (`test_x[server-x86-cpp]`), if any."""

    split = _params(nodeid)
    found = [t for t in TARGETS if split is not None and _has(split[1], t)]
    return max(found, key=len) if found else None


@dataclass
class SourceLine:
    """A line of the user's repository: where a check is declared."""

    file: str
    line: int


@dataclass
class Failure:
    """Why a check failed: the stage, what happened, where in the user's code, what to do."""

    stage: StageName
    message: str
    hint: str = ""
    file: str | None = None
    line: int | None = None
    details: str | None = None  # the evidence in full: a runtime's log, a library's traceback

    def to_dict(self) -> dict:
        """Render as one entry of `failures` in the JSON report."""
        return dataclasses.asdict(self)


@dataclass
class Fallback:
    """Why the recommended path moved away from AOTI (row 5): the stage and error it hit, where
    in the user's code (when known), and what would put the model on row 3."""

    technology: str
    stage: StageName
    error: str
    where: str | None = None
    hint: str = ""

    def to_dict(self) -> dict:
        """Render as the `fallback` entry of the JSON report."""
        return {"from": self.technology, "stage": self.stage, "error": self.error,
                "where": self.where, "hint": self.hint}


@dataclass
class CheckResult:
    """Everything measured and decided for one (model, target)."""

    model: str
    target: str
    nodeid: str | None = None
    identity: str | None = None  # the baseline's key: test id without target, config name, name=
    source: SourceLine | None = None  # where the check is declared: the marker or config entry
    proxy: str | None = None
    recommendation: Recommendation | None = None
    declared: str | None = None
    deviation: str | None = None
    graph_breaks: list[GraphBreak] | None = None
    export: ExportFacts | None = None
    stages: list[Stage] = field(default_factory=list)
    numerics: Numerics | None = None
    executorch: dict[str, Any] | None = None
    latency: Latency | None = None
    fallback: Fallback | None = None
    race: list[RaceEntry] | None = None
    failures: list[Failure] = field(default_factory=list)
    skip_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    artifacts: list[Use] = field(default_factory=list)  # store entries built or reused
    expected_failure: bool = False  # the test is xfail: reporters say so, the gate passes it
    graph_count: int | None = None  # graphs Dynamo compiled; torch's break count is this minus 1
    level: str = "full"  # "quick": facts and the row only; nothing was compiled, lowered or run
    breaks_decide: bool = True  # False: the breaks are information (ExecuTorch, non-strict)

    @property
    def test(self) -> str | None:
        """The pytest node id without this check's target parameter (None outside pytest)."""
        return without_target(self.nodeid, self.target) if self.nodeid else None

    @property
    def break_count(self) -> int:
        """Graph breaks as `torch._dynamo.explain` counts them (graphs - 1), which counts a
        break each time it splits a graph; `len(graph_breaks)` is the distinct break sites."""
        if self.graph_count is None:
            return len(self.graph_breaks or [])
        return max(self.graph_count - 1, 0)

    @property
    def outcome(self) -> str:
        """`failed` if anything failed, `skipped` if the path could not run here, else `passed`."""
        if self.failures:
            return FAILED
        return SKIPPED if self.skip_reason else PASSED

    def to_dict(self) -> dict:
        """Render as one entry of `results` in the `inferencecheck-report/1` JSON report."""
        gb = None
        if self.graph_breaks is not None:
            gb = {"count": len(self.graph_breaks), "explain_count": self.break_count,
                  "graphs": self.graph_count, "decides": self.breaks_decide,
                  "breaks": [b.to_dict() for b in self.graph_breaks]}
        return {
            "nodeid": self.nodeid,
            "identity": self.identity,
            "source": dataclasses.asdict(self.source) if self.source else None,
            "model": self.model,
            "target": self.target,
            "proxy": self.proxy,
            "recommendation": self.recommendation.to_dict() if self.recommendation else None,
            "declared": self.declared,
            "deviation": self.deviation,
            "graph_breaks": gb,
            "export": self.export.to_dict() if self.export else None,
            "stages": [s.to_dict() for s in self.stages],
            "numerics": self.numerics.to_dict() if self.numerics else None,
            "executorch": self.executorch,
            "latency": self.latency.to_dict() if self.latency else None,
            "fallback": self.fallback.to_dict() if self.fallback else None,
            "race": [e.to_dict() for e in self.race] if self.race is not None else None,
            "outcome": self.outcome,
            "skip_reason": self.skip_reason,
            "failures": [f.to_dict() for f in self.failures],
            "notes": list(self.notes),
            "artifacts": [dataclasses.asdict(u) for u in self.artifacts],
            "xfail": self.expected_failure,
            "level": self.level,
        }


def _numerics(d: dict | None) -> Numerics | None:
    if d is None:
        return None
    return Numerics(ok=d["ok"], max_abs_err=d["max_abs_err"], max_rel_err=d["max_rel_err"],
                    atol=d["atol"], rtol=d["rtol"], compared=d.get("compared", 0),
                    mismatches=[Mismatch(**m) for m in d.get("mismatches", [])],
                    notes=list(d.get("notes", [])), second_shape=_numerics(d.get("second_shape")),
                    shapes=d.get("shapes"))


def from_dict(d: dict) -> CheckResult:
    """Rebuild a result from its JSON-report entry (how results travel from xdist workers)."""
    rec = d.get("recommendation")
    gb = d.get("graph_breaks")
    export = d.get("export")
    fb = d.get("fallback")
    result = CheckResult(
        model=d["model"], target=d["target"], nodeid=d.get("nodeid"), proxy=d.get("proxy"),
        recommendation=Recommendation(**rec) if rec else None, declared=d.get("declared"),
        deviation=d.get("deviation"),
        graph_breaks=[GraphBreak(**b) for b in gb["breaks"]] if gb is not None else None,
        export=ExportFacts.from_dict(export) if export is not None else None,
        stages=[Stage(**s) for s in d.get("stages", [])],
        numerics=_numerics(d.get("numerics")), executorch=d.get("executorch"),
        latency=Latency(**d["latency"]) if d.get("latency") else None,
        fallback=Fallback(fb["from"], fb["stage"], fb["error"], fb.get("where"),
                          fb.get("hint", "")) if fb else None,
        race=[RaceEntry(e["backend"], e["ok"], tuple(e.get("samples_ms", ())),
                        e.get("max_abs_err"), e.get("error"))
              for e in d["race"]] if d.get("race") is not None else None,
        failures=[Failure(**f) for f in d.get("failures", [])],
        skip_reason=d.get("skip_reason"), notes=list(d.get("notes", [])),
        artifacts=[Use(**u) for u in d.get("artifacts", [])])
    result.expected_failure = bool(d.get("xfail"))
    result.identity = d.get("identity")
    result.source = SourceLine(**d["source"]) if d.get("source") else None
    result.graph_count = gb.get("graphs") if gb is not None else None
    result.level = d.get("level", "full")
    result.breaks_decide = gb.get("decides", True) if gb is not None else True
    return result


def crashed(nodeid: str, target: str, why: str) -> CheckResult:
    """The result of a check whose process died: failed, at stage `crashed`."""
    name = nodeid.split("::")[-1].split("[")[0]
    return CheckResult(model=name, target=target, nodeid=nodeid, failures=[Failure(
        "crashed", why, "rerun this test alone with -v to see the last stage that finished; "
                        "run under pytest-xdist (-n 1) to keep every other result in the run")])


def interrupted(nodeid: str | None, model: str, target: str) -> CheckResult:
    """The result of a check the user stopped (Ctrl-C) before it finished: failed, at stage
    `interrupted`, so that no report reads a half-run check as a pass or leaves it out."""
    return CheckResult(model=model, target=target, nodeid=nodeid or None, failures=[Failure(
        "interrupted", "the run was interrupted (Ctrl-C) while this check ran: it did not "
                       "finish, so it has no verdict", "run it again")])
