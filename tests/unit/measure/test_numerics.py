"""Every output leaf against eager: nesting, tolerance, structure, NaN."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from pytest_inferencecheck.measure.numerics import compare, leaves, non_finite


@dataclasses.dataclass
class Out:
    logits: torch.Tensor
    extra: dict


class Cache:  # like transformers' DynamicCache: an object holding lists of tensors
    def __init__(self, k):
        self.layers = [{"keys": k, "values": k + 1}]
        self._private = torch.zeros(1)


def test_leaves_walk_every_container_kind():
    t = torch.ones(2)
    out = (t, [t * 2, None], {"a": t}, Out(t, {"b": 3}), Cache(t))
    paths = [p for p, _ in leaves(out)]
    assert paths == ["output[0]", "output[1][0]", "output[2]['a']", "output[3].logits",
                     "output[3].extra['b']", "output[4].layers[0]['keys']",
                     "output[4].layers[0]['values']"]


def test_hugging_face_model_output_is_a_mapping_of_leaves():
    from transformers.modeling_outputs import BaseModelOutput

    out = BaseModelOutput(last_hidden_state=torch.ones(1, 2), hidden_states=None)
    assert [p for p, _ in leaves(out)] == ["output['last_hidden_state']"]


def test_equal_outputs_pass_with_zero_error():
    out = {"x": torch.randn(3, 4), "n": 2.0}
    n = compare(out, out, atol=1e-4, rtol=1e-4)
    assert n.ok and n.max_abs_err == 0.0 and n.compared == 2


def test_error_within_tolerance_passes_and_is_measured():
    a = torch.ones(4)
    n = compare(a + 5e-5, a, atol=1e-4, rtol=0)
    assert n.ok
    assert n.max_abs_err == pytest.approx(5e-5, rel=1e-2)
    assert n.max_rel_err == pytest.approx(5e-5, rel=1e-2)


def test_error_beyond_tolerance_names_the_leaf():
    n = compare((torch.ones(2), torch.ones(3) + 1e-2), (torch.ones(2), torch.ones(3)),
                atol=1e-4, rtol=1e-4)
    assert not n.ok
    assert [m.path for m in n.mismatches] == ["output[1]"]
    assert "beyond tolerance" in n.mismatches[0].message


def test_shape_and_structure_mismatches():
    assert "shape (2,) differs" in compare(torch.ones(2), torch.ones(3), atol=1, rtol=1
                                           ).mismatches[0].message
    n = compare((torch.ones(1),), (torch.ones(1), torch.ones(1)), atol=1, rtol=1)
    assert not n.ok and "1 output leaves where eager has 2" in n.mismatches[0].message


def test_flat_tuple_against_named_output_is_compared_in_order():
    n = compare((torch.ones(2),), {"logits": torch.ones(2)}, atol=0, rtol=0)
    assert n.ok and n.compared == 1 and "compared in order" in n.notes[0]


def test_integer_and_bool_tensors_compare_exactly():
    assert not compare(torch.tensor([1, 2]), torch.tensor([1, 3]), atol=0.5, rtol=0).ok
    assert compare(torch.tensor([True]), torch.tensor([True]), atol=0, rtol=0).ok


def test_opaque_leaves_are_noted_not_silently_passed():
    n = compare(torch.ones(1), torch.ones(1), atol=0, rtol=0)
    assert n.notes == []
    n = compare((torch.ones(1), object()), (torch.ones(1), object()), atol=0, rtol=0)
    assert n.ok and any("not compared" in note for note in n.notes)


def test_non_finite_paths():
    assert non_finite(leaves({"a": torch.tensor([1.0, math.nan]), "b": torch.ones(1),
                              "c": math.inf, "i": torch.tensor([1])})) == ["output['a']", "output['c']"]


def test_equal_infinities_and_nans_count_as_equal_but_one_sided_nan_does_not():
    inf_nan = torch.tensor([math.inf, -math.inf, math.nan, 1.0])
    assert compare(inf_nan.clone(), inf_nan, atol=0, rtol=0).ok
    n = compare(torch.tensor([math.nan, 1.0]), torch.tensor([0.0, 1.0]), atol=1, rtol=1)
    assert not n.ok


def test_integer_outputs_that_differ_say_how_many_elements_not_a_relative_error():
    # Issue 19: token ids that differ printed "max rel err 1.35e+308" (a division by the
    # smallest float where eager's value is 0).
    eager = torch.tensor([[0, 5, 7], [2, 0, 1]])
    got = torch.tensor([[1, 5, 7], [2, 0, 3]])
    n = compare(got, eager, atol=1e-4, rtol=1e-4)
    assert not n.ok
    (m,) = n.mismatches
    assert m.message == ("2 of 6 elements differ from eager (torch.int64: exact); first at "
                         "[0, 0]: 1 where eager has 0")
    assert "e+308" not in m.message


def test_a_float_output_against_an_eager_zero_has_an_unbounded_relative_error():
    n = compare(torch.tensor([0.5, 1.0]), torch.tensor([0.0, 1.0]), atol=1e-4, rtol=1e-4)
    (m,) = n.mismatches
    assert "max rel err unbounded (eager is 0 where they differ)" in m.message
    assert "e+308" not in m.message and "max abs err 0.5" in m.message
