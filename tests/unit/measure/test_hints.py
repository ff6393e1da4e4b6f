"""Hints for graph breaks and export errors are chosen from the break's own text."""

from __future__ import annotations

import pytest

from pytest_inferencecheck.measure.hints import (
    DEFAULT_GRAPH_BREAK_HINT,
    classify_export_error,
    graph_break_hint,
)


@pytest.mark.parametrize("text, expect", [
    ("Failed to trace builtin operator\nDynamo does not know how to trace builtin operator "
     "`print`", "print/logging"),
    ("Data-dependent branching\nDetected data-dependent branching", "torch.where"),
    ("generic_jump TensorVariable()", "torch.cond"),
    ("Unsupported Tensor.item() call with capture_scalar_outputs=False", ".item()"),
    ("Unsupported Tensor.tolist() call", ".tolist()"),
    ("numpy function call not supported: np.random", "numpy"),
    ("Dynamic shape operator\naten.nonzero", "nonzero"),
    ("Attempted to call function marked as skipped", "custom op"),
    ("Something new in torch 3", DEFAULT_GRAPH_BREAK_HINT),
])
def test_graph_break_hint_by_kind(text, expect):
    assert expect in graph_break_hint(text)


def test_unregistered_cache_output_says_use_cache_false():
    kind, hint = classify_export_error(
        "Found <class 'transformers.cache_utils.DynamicCache'> in output, which is not a known type.")
    assert kind == "unregistered-pytree-output"
    assert "DynamicCache" in hint and "use_cache=False" in hint


def test_unregistered_other_type_says_register_it():
    kind, hint = classify_export_error("Found <class 'mylib.Box'> in input, which is not a known type")
    assert kind == "unregistered-pytree-input"
    assert "register_pytree_node" in hint and "`Box`" in hint


@pytest.mark.parametrize("message, kind", [
    ("Could not guard on data-dependent expression Eq(u0, 1)", "data-dependent"),
    ("Constraints violated (batch)!", "dynamic-shapes"),
    ("no fake impl or Meta kernel registered", "missing-fake-kernel"),
    ("Unsupported: call_function", "unsupported"),
    ("boom", "export-error"),
])
def test_export_error_kinds(message, kind):
    assert classify_export_error(message)[0] == kind


@pytest.mark.parametrize("message", [
    "Could not guard on data-dependent expression Eq(u0, 1)", "Constraints violated (batch)!",
    "no fake impl or Meta kernel registered", "Unsupported: call_function", "boom",
    "Found <class 'mylib.Box'> in input, which is not a known type",
])
def test_an_export_hint_never_suggests_what_the_export_already_did(message):
    # Issue 30: a hint said "try `strict=False` export" of an export that was non-strict.
    assert "strict=False" not in classify_export_error(message)[1]
    assert "non-strict" not in classify_export_error(message)[1]
    strict_hint = classify_export_error(message, strict=True)[1]
    assert "strict=True" not in strict_hint.replace("drop strict_export=True", "")


def test_a_strict_exports_unsupported_construct_suggests_the_default_non_strict_export():
    assert "export non-strictly (drop strict_export=True: non-strict is the default)" in \
        classify_export_error("Unsupported: call_function", strict=True)[1]


# -- hints right for where they are shown (issue 19) ----------------------------------------------
from pytest_inferencecheck.checking.pipeline import _break_failure, _export_failure  # noqa: E402
from pytest_inferencecheck.measure.export import merge_issues  # noqa: E402
from pytest_inferencecheck.measure.hints import break_failure_hint  # noqa: E402
from pytest_inferencecheck.recommendations.table import TARGETS  # noqa: E402
from pytest_inferencecheck.result import (  # noqa: E402
    CheckResult,
    ExportFacts,
    ExportIssue,
    GraphBreak,
)

LIBRARY_BREAK = GraphBreak("GB0170", "data-dependent branching", "Data-dependent branching",
                           None, None, None, False, "use torch.cond",
                           "site-packages/transformers/masking_utils.py:88 in sdpa_mask")
USER_BREAK = GraphBreak("GB0170", "data-dependent branching", "Data-dependent branching",
                        "mymodels.py", 12, "forward", True, "use torch.cond",
                        "site-packages/transformers/masking_utils.py:88 in sdpa_mask")


def _failure(breaks, target):
    result = CheckResult(model="m", target=target, graph_breaks=breaks)
    return _break_failure(result, TARGETS[target], "2 graph breaks; row 6")


def test_breaks_only_in_library_code_do_not_send_the_user_to_a_line_that_does_not_exist():
    f = _failure([LIBRARY_BREAK], "mobile-android")
    assert "user line" not in f.hint and "inside library code" in f.hint
    assert "user line shown" in _failure([LIBRARY_BREAK, USER_BREAK], "mobile-android").hint


def test_a_phone_is_never_offered_row_4_and_a_cpp_server_is():
    for target in ("mobile-android", "mobile-ios", "edge"):
        assert "row 4" not in _failure([USER_BREAK], target).hint
    assert "row 4" not in DEFAULT_GRAPH_BREAK_HINT  # per break, shown on every target
    assert "deploy with Python" in _failure([USER_BREAK], "server-x86-cpp").hint
    assert break_failure_hint(True, cpp_server=False).endswith("(hints per break above)")


def test_a_break_in_library_code_names_its_frame_once():
    f = _failure([LIBRARY_BREAK], "edge")
    assert f.message.count("masking_utils.py:88") == 1
    # below a user line, the library frame adds information: it is kept
    assert "(inside site-packages/transformers/masking_utils.py:88" in USER_BREAK.describe()


def test_an_export_issue_without_a_location_prints_none_and_is_not_repeated():
    located = ExportIssue("data-dependent", "could not decide `u0 > 0`", "m.py", 3, "use cond")
    unplaced = ExportIssue("data-dependent", "could not decide `u0 > 0`", None, None, "use cond")
    other = ExportIssue("missing-fake-kernel", "no fake kernel for mylib::op", None, None, "fake")
    assert merge_issues(located, [unplaced, other]) == [located, other]
    result = CheckResult(model="m", target="edge",
                         export=ExportFacts(ok=False, strict=False, issues=[located, other]))
    text = _export_failure(result, "row 2").message
    assert "<unknown>" not in text and "None:" not in text
    assert "- [missing-fake-kernel] no fake kernel for mylib::op -> fake" in text
    assert "- m.py:3: [data-dependent]" in text


def test_an_executorch_lowering_failure_gets_the_hint_its_error_calls_for():
    from pytest_inferencecheck.measure.hints import STAGE_HINTS, lower_hint

    # an operator outside the Core ATen opset, called from a library (a MoE router)
    op = ("SpecViolationError: Operator torch._ops.aten.histc.default is not Aten Canonical.")
    hint = lower_hint(op, user_line=False)
    assert "`aten.histc.default` in library code" in hint and "user line" not in hint
    assert "at the user line shown" in lower_hint(op, user_line=True)
    # one of ExecuTorch's own passes failing: nothing of the user's to remove
    fuse = "RuntimeError: FuseBatchNormPass: expected a convolution before the batch norm"
    assert "ExecuTorch's own FuseBatchNormPass failed" in lower_hint(fuse, user_line=False)
    assert "remove the unsupported operators" not in lower_hint(fuse, user_line=False)
    assert lower_hint("something else", user_line=False) == STAGE_HINTS["lower"]
