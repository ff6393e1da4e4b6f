"""An app's ExecuTorch operator set, read from the files ExecuTorch's selective build reads."""

from __future__ import annotations

import pytest

from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.recommendations.operators import is_prim, operator_set


def test_a_plain_list_with_comments_commas_and_new_lines(tmp_path):
    f = tmp_path / "ops.txt"
    f.write_text("# kernels of the app\naten::add.out, aten::mm.out\n  mul.out  # no namespace\n")
    app = operator_set(str(f), "test")
    assert app.names == {"aten::add.out", "aten::mm.out", "aten::mul.out"}
    assert app.has("aten::mm.out") and not app.has("aten::mm.dtype_out")
    assert not app.has("aten::convolution.out")


def test_a_name_without_an_overload_takes_all_and_prim_operators_are_always_there(tmp_path):
    f = tmp_path / "ops.txt"
    f.write_text("aten::sum")
    app = operator_set(f, "test")
    assert app.has("aten::sum.IntList_out") and app.has("aten::sum.out")
    assert app.has("executorch_prim::add.Scalar") and app.has("aten::sym_size.int")
    assert is_prim("aten::_local_scalar_dense") and not is_prim("aten::add.out")


def test_selected_operators_yaml_as_gen_oplist_writes_it(tmp_path):
    f = tmp_path / "selected_operators.yaml"
    f.write_text("build_features: []\ninclude_all_non_op_selectives: false\n"
                 "include_all_operators: false\noperators:\n"
                 "  aten::add.out:\n    include_all_overloads: false\n    is_root_operator: true\n"
                 "  aten::mm.out:\n    is_root_operator: true\n"
                 "et_kernel_metadata:\n  aten::add.out:\n  - default\n")
    assert operator_set(f, "test").names == {"aten::add.out", "aten::mm.out"}
    f.write_text("include_all_operators: true\noperators: {}\n")
    assert operator_set(f, "test").has("aten::anything.out")


def test_a_kernel_list_with_op_and_func_entries(tmp_path):
    f = tmp_path / "functions.yaml"
    f.write_text("- op: add.out\n  kernels:\n    - arg_meta: null\n      kernel_name: k\n"
                 "- func: my_ns::fused.out(Tensor x, *, Tensor(a!) out) -> Tensor(a!)\n"
                 "  kernels:\n    - arg_meta: null\n      kernel_name: f\n")
    assert operator_set(f, "test").names == {"aten::add.out", "my_ns::fused.out"}


@pytest.mark.parametrize("text, says", [
    (": [", "not valid YAML"),
    ("operators: [aten::add.out]\n", "must map operator names"),
    ("- name: add.out\n", "neither a selected_operators.yaml"),
])
def test_broken_yaml_is_a_usage_error_naming_the_file(tmp_path, text, says):
    f = tmp_path / "ops.yaml"
    f.write_text(text)
    with pytest.raises(InferenceCheckError, match=says) as info:
        operator_set(f, "@pytest.mark.deploy_target on t.py:3")
    assert "deploy_target on t.py:3" in str(info.value) and str(f) in str(info.value)


@pytest.mark.parametrize("value", [None, "", 3, ["a"]])
def test_a_value_that_is_not_a_path_is_a_usage_error(value):
    with pytest.raises(InferenceCheckError, match="must be the path of the app's operator list"):
        operator_set(value, "test")
