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
