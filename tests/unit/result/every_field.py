"""A result with every field of every result type set (and one with the optional ones unset),
built once, for the serialisation's golden JSON (`every_field.json`)."""

from __future__ import annotations

from pytest_inferencecheck.recommendations.decision import Recommendation
from pytest_inferencecheck.result import (
    CheckResult,
    ExportFacts,
    ExportIssue,
    Failure,
    Fallback,
    GraphBreak,
    Latency,
    Mismatch,
    Numerics,
    RaceEntry,
    SourceLine,
    Stage,
    Use,
)


def every_field() -> list[CheckResult]:
    full = CheckResult(
        model="gpt2", target="server-x86-python", nodeid="tests/test_m.py::test_gpt2[server-x86-python]",
        identity="tests/test_m.py::test_gpt2", source=SourceLine("tests/test_m.py", 12),
        proxy="x86-64 CPU for server-cuda-python",
        recommendation=Recommendation(5, "torch.compile", "inductor", "row 5: ..."),
        declared="aoti-python", deviation="declared 'aoti-python' but row 5",
        graph_breaks=[GraphBreak("GB0001", "print", "print() call", "m.py", 3, "forward", True,
                                 "remove the print", "torch/nn/x.py:9")],
        export=ExportFacts(False, True, [ExportIssue("data-dependent", "u0 > 0", "m.py", 4,
                                                     "torch._check")]),
        stages=[Stage("eager", "passed", 0.123456, "built 1d8b"), Stage("compile", "failed", 2.0)],
        numerics=Numerics(False, 0.5, 0.25, 1e-4, 1e-5, compared=3,
                          mismatches=[Mismatch("output[0]", "values differ", 0.5, 0.25)],
                          notes=["a note"],
                          second_shape=Numerics(True, 0.0, 0.0, 1e-4, 1e-5, compared=1),
                          shapes="x: (2, 8) -> (3, 8)"),
        executorch={"partitioners": ["xnnpack"], "delegation": 0.75, "operators": []},
        latency=Latency(1.234567, 0.5, load=1.5),
        fallback=Fallback("aoti-python", "export", "Found DynamicCache", "m.py:4", "use_cache"),
        race=[RaceEntry("inductor", True, 1e-6, samples_ms=(0.017496, 0.0175, 0.01751, 0.0176)),
              RaceEntry("cudagraphs", False, error="RuntimeError: no")],
        failures=[Failure("compare", "outputs differ", "loosen atol", "m.py", 7, "log\nlines")],
        skip_reason=None, notes=["n1", "n2"],
        artifacts=[Use("aoti", "a" * 64, "fetched", 2_000_000, "was corrupt", published=1_000)])
    full.expected_failure = True
    full.graph_count = 4
    full.level = "quick"
    full.breaks_decide = False
    bare = CheckResult(model="cnn", target="edge", skip_reason="ExecuTorch is not installed")
    return [full, bare]
