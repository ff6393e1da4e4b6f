"""ExecuTorch's failures in its own words, against its real runtime and backends (no mock): a
kernel that rejects its inputs, an operator the runtime lacks, a backend that raises on a valid
program, and the operators an app's runtime must have."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from pytest_inferencecheck import check
from pytest_inferencecheck.errors import InferenceCheckError
from pytest_inferencecheck.reporters import html, json_report
from pytest_inferencecheck.reporters.text import explain

import models

if os.environ.get("CI"):  # CI installs the extra: a missing ExecuTorch must fail, not skip green
    import executorch  # noqa: F401
else:
    pytest.importorskip("executorch", reason="install the [executorch] extra to run these tests")
pytestmark = pytest.mark.slow


def _executorch_release() -> tuple[int, int]:
    from importlib.metadata import version

    return tuple(int(p) for p in version("executorch").split(".")[:2])  # type: ignore[return-value]


def test_a_kernel_that_rejects_its_inputs_is_named_with_the_runtimes_own_words(tmp_path):
    # Issue 30: "RuntimeError: method->execute() failed with error 0x12" and nothing else.
    r = check(models.Conv3dNet(), (torch.randn(1, 2, 6, 6, 6),), "edge", store=tmp_path)
    (f,) = r.failures
    assert f.stage == "run"
    assert "InvalidArgument (0x12) in operator aten::convolution.out at instruction 0:" \
        in f.message
    assert "the kernel says: Expect input tensor to be 3-D or 4-D, but got, 5" in f.message
    assert (f.file, f.line) == ("tests/models.py", models.line_of("conv3d"))
    assert "portable kernels" in f.hint and "xnnpack did not take it" in f.hint
    et = r.executorch  # the lowering's facts survive the failed run, with the runtime's lines
    assert et["executed"] is False and et["delegated_nodes"] == 0
    assert any("KernelCall failed" in line for line in et["runtime_log"])
    assert not any("arg 0 with type id" in line for line in et["runtime_log"])  # not its dump
    assert f.details and "Check failed" in f.details
    page = html.render([r])
    assert "The runtime&#39;s own log of the failed run" in page or \
        "The runtime's own log of the failed run" in page
    assert "KernelCall failed at instruction" in page


def test_an_operator_the_runtime_lacks_is_named_with_its_line(tmp_path):
    r = check(models.AvgPool3dNet(), (torch.randn(1, 2, 4, 4, 4),), "mobile-ios",
              store=tmp_path)
    (f,) = r.failures
    assert f.stage == "et_load"
    assert "OperatorMissing (0x14): its kernel registry has no aten::avg_pool3d.out" in f.message
    assert f"(from tests/models.py:{models.line_of('avgpool3d')})" in f.message
    assert "selective build" in f.hint
    assert any(line.startswith("Missing operator: [") and line.endswith("aten::avg_pool3d.out")
               for line in r.executorch["runtime_log"])


@pytest.mark.skipif(_executorch_release() >= (1, 5),
                    reason="ExecuTorch 1.5 fixed the XNNPACK max_pool2d bug this test meets")
def test_a_backend_that_raises_on_a_valid_program_is_named_as_the_backends_bug(tmp_path):
    # Issue 30: "IndexError: tuple index out of range" and a hint to remove operators it
    # never named; neither --tb=long nor the JSON showed where.
    r = check(models.PoolWithoutStride(), (torch.randn(1, 3, 16, 16),), "mobile-android",
              store=tmp_path)
    (f,) = r.failures
    assert f.stage == "lower" and r.export.ok  # torch.export took it: the program is valid
    assert f.message.startswith("a bug of ExecuTorch's XNNPACK partitioner on `max_pool2d` "
                                "(node max_pool2d, aten.max_pool2d.default) at "
                                f"tests/models.py:{models.line_of('pool')}")
    assert "IndexError: tuple index out of range (raised at executorch/backends/xnnpack/" \
        in f.message
    assert f.hint.startswith("spell out `stride` in that call")
    assert "another partitioner" in f.hint and "executorch/issues" in f.hint
    assert (f.file, f.line) == ("tests/models.py", models.line_of("pool"))
    assert "Traceback (most recent call last)" in f.details and "check_constraints" in f.details
    assert "Traceback (most recent call last)" in explain(r, details=True)
    assert "Traceback" not in explain(r)
    assert json_report.build([r])["results"][0]["failures"][0]["details"] == f.details


def test_the_backends_bug_shows_its_traceback_under_tb_long(pytester):
    if _executorch_release() >= (1, 5):
        pytest.skip("ExecuTorch 1.5 fixed the XNNPACK max_pool2d bug this test meets")
    pytester.makepyfile(test_pool="""
        import pytest, torch
        from torch import nn

        class Pool(nn.Module):
            def forward(self, x):
                return nn.functional.max_pool2d(x, 2)

        @pytest.mark.deploy_target("edge")
        def test_pool(inference_check):
            inference_check(Pool(), (torch.randn(1, 3, 8, 8),))
    """)
    store = ["--inference-check-cache-dir", str(pytester.path / "store")]
    short = pytester.runpytest("--inference-check", "-p", "no:cacheprovider", *store)
    short.assert_outcomes(failed=1)
    short.stdout.fnmatch_lines(["*a bug of ExecuTorch's XNNPACK partitioner on `max_pool2d`*"])
    assert "Traceback (most recent call last)" not in short.stdout.str()
    long = pytester.runpytest("--inference-check", "-p", "no:cacheprovider", "--tb=long",
                              *store)
    long.assert_outcomes(failed=1)
    long.stdout.fnmatch_lines(["*details:*", "*Traceback (most recent call last):*",
                               "*in check_constraints*", "*IndexError: tuple index out of range*"])


# -- the app's operator set -------------------------------------------------------------------

def _needed(tmp_path) -> list[str]:
    r = check(models.PartlyDelegated(), (torch.randn(1, 3, 16, 16),), "edge", store=tmp_path)
    assert r.outcome == "passed", explain(r)
    return [o["operator"] for o in r.executorch["operators"]]


def test_without_an_operator_set_the_report_lists_what_the_pte_needs(tmp_path):
    r = check(models.PartlyDelegated(), (torch.randn(1, 3, 16, 16),), "edge", store=tmp_path)
    ops = {o["operator"]: o for o in r.executorch["operators"]}
    assert "aten::cumsum.out" in ops  # XNNPACK does not take cumsum: the runtime must have it
    assert "aten::convolution.out" not in ops  # delegated: inside XNNPACK's blob
    cumsum_line = next(n for n, text in enumerate(open(models.__file__), 1)
                       if "torch.cumsum(pooled, 1)" in text)
    assert (ops["aten::cumsum.out"]["file"], ops["aten::cumsum.out"]["line"]) == \
        ("tests/models.py", cumsum_line)
    report = json_report.build([r])
    assert report["results"][0]["executorch"]["operators"] == r.executorch["operators"]
    page = html.render([r])
    assert "operator the .pte needs outside its delegates" in page and "aten::cumsum.out" in page


@pytest.mark.parametrize("form", ["list", "selected_operators.yaml", "functions.yaml"])
def test_an_operator_outside_the_apps_set_fails_naming_it_and_its_line(tmp_path, form):
    needed = _needed(tmp_path / "store")
    has = [n for n in needed if n != "aten::cumsum.out"]
    if form == "list":
        app = tmp_path / "ops.txt"
        app.write_text("# the app's kernels\n" + ",".join(has) + "\n")
    elif form == "selected_operators.yaml":
        app = tmp_path / "selected_operators.yaml"
        app.write_text("include_all_operators: false\noperators:\n" + "".join(
            f"  {n}:\n    is_root_operator: true\n" for n in has))
    else:
        app = tmp_path / "functions.yaml"
        app.write_text("".join(f"- op: {n.removeprefix('aten::')}\n  kernels:\n"
                               f"    - arg_meta: null\n      kernel_name: k\n" for n in has))
    r = check(models.PartlyDelegated(), (torch.randn(1, 3, 16, 16),), "edge",
              store=tmp_path / "store", executorch_operators=str(app))
    (f,) = r.failures
    assert f.stage == "executorch_operators" and r.numerics.ok  # it runs here; not on the app
    assert "OperatorMissing" in f.message and "  - aten::cumsum.out (from tests/models.py:" \
        in f.message
    assert str(app) in f.message and "selective build" in f.hint
    assert f.file == "tests/models.py"


def test_an_app_set_with_every_operator_passes_and_a_bare_name_takes_all_overloads(tmp_path):
    needed = _needed(tmp_path / "store")
    app = tmp_path / "ops.txt"
    app.write_text(" ".join(n.split(".")[0] for n in needed))  # aten::cumsum takes cumsum.out
    r = check(models.PartlyDelegated(), (torch.randn(1, 3, 16, 16),), "edge",
              store=tmp_path / "store", executorch_operators=str(app))
    assert r.outcome == "passed", explain(r)


@pytest.mark.parametrize("content, says", [
    (None, "cannot read"),
    ("", "names no operator"),
    ("aten::add.out, not an op!", "which are not operator names"),
])
def test_a_bad_operator_set_is_a_usage_error(tmp_path, content, says):
    app = tmp_path / "ops.txt"
    if content is not None:
        app.write_text(content)
    with pytest.raises(InferenceCheckError, match=says):
        check(models.SmallCNN(), models.cnn_inputs(), "edge", executorch_operators=str(app))


def test_a_yaml_operator_set_of_the_wrong_shape_is_a_usage_error(tmp_path):
    app = tmp_path / "ops.yaml"
    app.write_text(json.dumps({"kernels": ["aten::add.out"]}))
    with pytest.raises(InferenceCheckError, match="neither a selected_operators.yaml"):
        check(models.SmallCNN(), models.cnn_inputs(), "edge", executorch_operators=str(app))


def test_a_config_entrys_operator_set_is_read_relative_to_its_pyproject(tmp_path, monkeypatch):
    from pytest_inferencecheck.config.pyproject import model_entries

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "ops.txt").write_text("aten::add.out\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    table = {"models": {"m": {"factory": "mymodels:build", "targets": ["edge"],
                              "options": {"executorch_operators": "app/ops.txt"}}}}
    (entry,) = model_entries(table, tmp_path / "pyproject.toml")
    app = entry.options.executorch_operators
    assert app.path == str(tmp_path / "app" / "ops.txt") and app.has("aten::add.out")
    table["models"]["m"]["options"]["executorch_operators"] = "app/missing.txt"
    with pytest.raises(InferenceCheckError, match=r"\[tool.inferencecheck.models.m\].*cannot read"):
        model_entries(table, tmp_path / "pyproject.toml")


def test_a_reused_pte_locates_its_operators_in_the_checking_models_own_file(tmp_path,
                                                                            monkeypatch):
    # A stored .pte names the exported program's nodes, not files: two models with one graph
    # share it, and each report points at its own line.
    import importlib

    source = ("import torch\nfrom torch import nn\n\nclass M(nn.Module):\n"
              "    def forward(self, x):\n{pad}        return torch.cumsum(x, 1) * 2\n")
    for name, pad in [("first_model", ""), ("second_model", "        # moved down\n" * 3)]:
        (tmp_path / f"{name}.py").write_text(source.format(pad=pad))
    monkeypatch.syspath_prepend(tmp_path)
    store = tmp_path / "store"
    results = [check(importlib.import_module(name).M(), (torch.randn(2, 5),), "edge",
                     store=store) for name in ("first_model", "second_model")]
    assert [u.status for u in results[1].artifacts if u.kind == "executorch"] == ["reused"]
    lines = [{o["operator"]: (o["file"], o["line"]) for o in r.executorch["operators"]}
             ["aten::cumsum.out"] for r in results]
    assert [Path(f).name for f, _ in lines] == ["first_model.py", "second_model.py"]
    assert [line for _, line in lines] == [6, 9]
    cold = check(importlib.import_module("second_model").M(), (torch.randn(2, 5),), "edge",
                 store=tmp_path / "cold")  # the reuse invariant: the rerun says what cold says
    assert [u.status for u in cold.artifacts if u.kind == "executorch"] == ["built"]
    assert cold.executorch["operators"] == results[1].executorch["operators"]


@torch.library.custom_op("inferencecheck_tests::twice", mutates_args=())
def _twice(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@_twice.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


class CustomOpModel(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _twice(x) + 1  # the custom operator ExecuTorch has no out variant of


def test_executorchs_refusal_of_a_custom_operator_names_it_its_line_and_what_to_do(tmp_path):
    r = check(CustomOpModel(), (torch.randn(2, 3),), "edge", store=tmp_path)
    (f,) = r.failures
    line = next(n for n, text in enumerate(open(__file__), 1)
                if "the custom operator ExecuTorch has no out variant" in text)
    assert f.stage == "to_executorch" and (Path(f.file).name, f.line) == (Path(__file__).name,
                                                                          line)
    assert f.message.startswith("ExecuTorch rejected the program on `twice` (node twice, "
                                "inferencecheck_tests.twice.default)")
    assert "while serializing the program (to_executorch): RuntimeError: Missing out variants: " \
        "{'inferencecheck_tests::twice'}" in f.message
    assert "a bug of" not in f.message  # a deliberate refusal, not a crash
    assert f.hint.startswith("ExecuTorch calls operators by their out variant, and "
                             "'inferencecheck_tests::twice' has none")
    assert "Traceback" in f.details


def test_executorchs_import_time_warnings_stay_out_of_the_users_run(pytester):
    # Issue 31: 17 third-party deprecation warnings (14 of them torch.jit.script_method, from
    # importing ExecuTorch) on every run; the user's own warnings must still show.
    pytester.makepyfile(test_mob="""
        import warnings
        import pytest, torch

        @pytest.mark.deploy_target("mobile-android")
        def test_m(inference_check):
            warnings.warn("the user's own warning")
            inference_check(torch.nn.Linear(4, 4), (torch.ones(2, 4),))
    """)
    out = pytester.runpytest_subprocess("--inference-check", "-p", "no:cacheprovider",
                                        "--inference-check-cache-dir", str(pytester.path / "s"))
    out.assert_outcomes(passed=1, warnings=1)
    text = out.stdout.str()
    assert "the user's own warning" in text
    assert "script_method" not in text and "open_text" not in text
