"""The result of one (model, target) check: facts, stages, verdict. Reporters render it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.recommendations.decision import Recommendation
from pytest_inferencecheck.support.locations import display_path
from pytest_inferencecheck.support.nodeids import without_target
from pytest_inferencecheck.support.records import from_data, json_field, to_data
from pytest_inferencecheck.support.timing import QUIET_LOAD, Timing, quiet_load

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

MEASURED_PLACES = 4  # seconds and milliseconds are kept to this many decimal places


def _measured(value: float | None) -> float | None:
    """Round a measurement once, on entry, so the terminal, JSON and JUnit show the same value.

    Rounding only when writing the report rounded twice on the way back (0.01749 -> 0.0175 ->
    "0.018" against "0.017" from the unrounded value), so a result read back from a worker
    rendered differently from the one that was measured.
    """
    return None if value is None else round(value, MEASURED_PLACES)


#: What obtaining a store entry did: built here, reused from the local store, rebuilt (the
#: stored one was unusable), or fetched from the team store (the remote tier).
BUILT, REUSED, REBUILT, FETCHED = "built", "reused", "rebuilt", "fetched"
USE_STATUSES = (REUSED, FETCHED, BUILT, REBUILT)


@dataclass(frozen=True)
class Use:
    """What obtaining one entry did (`USE_STATUSES`), and why when not plain; `published`:
    the bytes uploaded when this run published the entry to the team store (None: it did
    not)."""

    kind: str
    key: str
    status: str
    bytes: int = 0
    note: str | None = None
    published: int | None = None

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



@dataclass
class ExportFacts:
    """Whether `torch.export.export` captured the model, and every issue when it did not."""

    ok: bool
    strict: bool = False
    issues: list[ExportIssue] = field(default_factory=list)


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



@dataclass
class Mismatch:
    """One output leaf that differs from eager beyond tolerance (or in shape, dtype, kind)."""

    path: str
    message: str
    max_abs_err: float | None = None
    max_rel_err: float | None = None



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
    shapes: str | None = json_field(default=None, omit_none=True)  # which inputs changed shape
    # with dynamic_shapes: the artifact at another shape (`shapes` says which)
    second_shape: Numerics | None = json_field(default=None, omit_none=True)


@dataclass
class Latency:
    """Steady-state median latency of eager and of the artifact, in milliseconds, taken in turns
    while none of our own background work ran (`host.hold`), with the noise of each (the
    spread of its samples) and what else kept the CPU busy meanwhile."""

    eager_ms: float | None = None
    artifact_ms: float | None = None
    load: float | None = None  # other processes' CPU per core while measured (None: unknown)
    eager_noise_ms: float | None = json_field(default=None, omit_none=True)
    artifact_noise_ms: float | None = json_field(default=None, omit_none=True)
    measured_at: str | None = json_field(default=None, omit_none=True)  # UTC, to the minute
    measured_on: str | None = json_field(default=None, omit_none=True)  # host and its CPU/GPU
    replayed: bool | None = json_field(default=None, omit_none=True)  # from an earlier run

    def __post_init__(self) -> None:
        self.eager_ms, self.artifact_ms = _measured(self.eager_ms), _measured(self.artifact_ms)

    @property
    def quiet(self) -> bool:
        """Whether nothing else kept the CPU busy while measured (or the OS does not say)."""
        try:
            limit = quiet_load()
        except InferenceCheckError:  # said where a latency is measured (`checking.path`)
            limit = QUIET_LOAD
        return self.load is None or self.load <= limit

    @property
    def noise(self) -> str | None:
        """A word on the figures: noisy (other work competed), or replayed (from when, where)."""
        words = []
        if not self.quiet:
            words.append(f"measured while other processes kept {self.load:.0%} of the CPU busy: "
                         "the figures are noisy; compare latencies on a quiet machine")
        if self.replayed:
            words.append("replayed from " + " ".join(filter(None, (
                f"{self.measured_at}" if self.measured_at else "an earlier run",
                f"on {self.measured_on}" if self.measured_on else None))))
        return "; ".join(words) or None


@dataclass
class RaceEntry:
    """One torch.compile backend in the row-7 race: checked against eager, then timed.

    Median and spread are derived from the samples, so the verdict, the report and a result
    read back from JSON all rest on the same numbers.
    """

    __json_computed__ = {"median_ms": ("ok", lambda e: _measured(e.median_ms)),
                         "spread_ms": ("median_ms", lambda e: _measured(e.spread_ms))}

    backend: str
    ok: bool
    max_abs_err: float | None = None
    error: str | None = None
    samples_ms: tuple[float, ...] = ()

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


def identity_of(name: str | None, nodeid: str | None, target: str) -> str | None:
    """A check's identity (the baseline's key), decided here only: an explicit `name=` wins,
    else the test's node id without the target parameter; None outside pytest without a name."""
    return name or (without_target(nodeid, target) if nodeid else None)


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



@dataclass
class Fallback:
    """Why the recommended path moved away from AOTI (row 5): the stage and error it hit, where
    in the user's code (when known), and what would put the model on row 3."""

    technology: str = json_field(key="from")
    stage: StageName
    error: str
    where: str | None = None
    hint: str = ""


@dataclass(kw_only=True)
class CheckResult:
    """Everything measured and decided for one (model, target)."""

    __json_computed__ = {"outcome": ("race", lambda r: r.outcome)}

    nodeid: str | None = None
    identity: str | None = None  # the baseline's key: test id without target, config name, name=
    source: SourceLine | None = None  # where the check is declared: the marker or config entry
    model: str
    target: str
    proxy: str | None = None
    recommendation: Recommendation | None = None
    declared: str | None = None
    deviation: str | None = None
    # JSON: {count, explain_count, graphs, decides, breaks}, with `graph_count` and
    # `breaks_decide` below, which it carries
    graph_breaks: list[GraphBreak] | None = json_field(
        default=None, encode=lambda r: _breaks_data(r), decode=lambda d: _breaks_of(d))
    export: ExportFacts | None = None
    stages: list[Stage] = field(default_factory=list)
    numerics: Numerics | None = None
    executorch: dict[str, Any] | None = None
    latency: Latency | None = None
    fallback: Fallback | None = None
    race: list[RaceEntry] | None = None
    skip_reason: str | None = None
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    artifacts: list[Use] = field(default_factory=list)  # store entries built or reused
    # the test is xfail: reporters say so, the gate passes it
    expected_failure: bool = json_field(default=False, key="xfail")
    level: str = "full"  # "quick": facts and the row only; nothing was compiled, lowered or run
    # graphs Dynamo compiled; torch's break count is this minus 1
    graph_count: int | None = json_field(
        default=None, skip=True, decode=lambda d: (d.get("graph_breaks") or {}).get("graphs"))
    # False: the breaks are information (ExecuTorch, non-strict)
    breaks_decide: bool = json_field(
        default=True, skip=True,
        decode=lambda d: (d.get("graph_breaks") or {}).get("decides", True))

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
        return to_data(self)


def _breaks_data(r: CheckResult) -> dict | None:
    if r.graph_breaks is None:
        return None
    return {"count": len(r.graph_breaks), "explain_count": r.break_count, "graphs": r.graph_count,
            "decides": r.breaks_decide, "breaks": to_data(r.graph_breaks)}


def _breaks_of(d: dict) -> list[GraphBreak] | None:
    gb = d.get("graph_breaks")
    return None if gb is None else [from_data(GraphBreak, b) for b in gb["breaks"]]


def from_dict(d: dict) -> CheckResult:
    """Rebuild a result from its JSON-report entry (how results travel from xdist workers)."""
    return from_data(CheckResult, d)


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
