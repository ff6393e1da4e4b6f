"""Graph breaks measured for real with Dynamo: reasons, ids, exact user lines, no leftovers."""

from __future__ import annotations

import torch

from pytest_inferencecheck.measure.graph_breaks import find_graph_breaks

import models
from models import line_of


def test_three_breaks_each_at_its_user_line():
    breaks, graphs = find_graph_breaks(models.ThreeBreaks().eval(), (torch.randn(4, 8),), {})
    by_line = {b.line: b for b in breaks}
    assert sorted(by_line) == sorted(line_of(m) for m in ("print", "branch", "item"))
    assert all(b.file == models.__file__ and b.function == "forward" and b.user_code
               for b in breaks)
    assert graphs >= 2
    printed = by_line[line_of("print")]
    assert "print" in printed.reason and "print/logging" in printed.hint
    branch = by_line[line_of("branch")]
    # the log's reason, not explain()'s "generic_jump TensorVariable()"
    assert "Data-dependent branching" in branch.reason and "torch.where" in branch.hint
    item = by_line[line_of("item")]
    assert "item()" in item.reason and ".item()" in item.hint


def test_break_types_are_pytorch_gb_ids():
    breaks, _ = find_graph_breaks(models.ThreeBreaks().eval(), (torch.randn(4, 8),), {})
    assert all(b.type.startswith("GB") and b.type[2:].isdigit() for b in breaks)
    assert len({b.type for b in breaks}) == 3


def test_a_break_reached_repeatedly_is_reported_once_at_the_helper_line():
    breaks, _ = find_graph_breaks(models.BreakInHelperInLoop(), (torch.ones(3),), {})
    assert [(b.line, b.function) for b in breaks] == [(line_of("helper"), "breaking_helper")]


def test_no_break_for_a_clean_model():
    breaks, graphs = find_graph_breaks(models.SmallCNN().eval(), models.cnn_inputs(), {})
    assert breaks == [] and graphs == 1


def test_no_dynamo_state_is_left_behind():
    from torch._dynamo import symbolic_convert

    cls = symbolic_convert.InstructionTranslatorBase
    original = cls.__dict__["log_graph_break"]
    model = models.ThreeBreaks().eval()
    first, _ = find_graph_breaks(model, (torch.randn(4, 8),), {})
    # Without a reset, Dynamo's code cache would answer the second trace and hide every break.
    second, _ = find_graph_breaks(model, (torch.randn(4, 8),), {})
    assert [(b.type, b.line) for b in first] == [(b.type, b.line) for b in second]
    assert cls.__dict__["log_graph_break"] is original


def test_break_inside_a_library_points_at_the_user_call_site(tmp_path, monkeypatch):
    # A fake "library" under site-packages: locations below it are not the user's.
    import sysconfig

    site = sysconfig.get_paths()["purelib"]
    lib_file = tmp_path / "fakelib.py"
    lib_file.write_text("def scale(x):\n    return x * x.sum().item()\n")
    monkeypatch.setattr("pytest_inferencecheck.support.locations._library_roots",
                        lambda: (str(tmp_path) + "/", site + "/"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import fakelib

    class UsesLib(torch.nn.Module):
        def forward(self, x):
            return fakelib.scale(x) + 1  # the user line

    breaks, _ = find_graph_breaks(UsesLib(), (torch.ones(2),), {})
    assert len(breaks) == 1
    b = breaks[0]
    assert b.user_code is False
    assert b.file == __file__ and b.function == "forward"
    assert b.library_frame.startswith(str(lib_file)) and ":2 in scale" in b.library_frame


def test_explain_reports_the_same_breaks_where_dynamos_logging_method_is_missing(monkeypatch):
    # A torch without `InstructionTranslatorBase.log_graph_break` (2.6) or with one the recorder
    # cannot bind: the breaks come from torch._dynamo.explain instead, with the same facts.
    from pytest_inferencecheck.support import compat

    cases = [(models.ThreeBreaks().eval(), (torch.randn(4, 8),)),
             (models.BreakInHelperInLoop(), (torch.ones(3),)),
             (models.SmallCNN().eval(), models.cnn_inputs())]
    logged = [find_graph_breaks(model, args, {}) for model, args in cases]
    monkeypatch.setattr(compat, "graph_break_hook", lambda: None)
    explained = [find_graph_breaks(model, args, {}) for model, args in cases]

    def facts(found):
        breaks, graphs = found
        return graphs, [(b.type, b.name, b.file, b.line, b.function, b.user_code, b.hint)
                        for b in breaks]

    assert [facts(f) for f in explained] == [facts(f) for f in logged]
    assert all(b.reason.startswith(b.name) for b in explained[0][0])


def test_a_call_the_recorder_cannot_read_falls_back_to_explain_never_a_crash(monkeypatch):
    # Dynamo passes the logging method something this recorder does not know how to read: the
    # trace goes on untouched and the breaks come from torch._dynamo.explain.
    from pytest_inferencecheck.measure import graph_breaks

    def unreadable(bound, sink):
        raise KeyError("a form of log_graph_break from a future torch")

    expected = find_graph_breaks(models.ThreeBreaks().eval(), (torch.randn(4, 8),), {})
    monkeypatch.setattr(graph_breaks, "_record", unreadable)
    breaks, graphs = find_graph_breaks(models.ThreeBreaks().eval(), (torch.randn(4, 8),), {})
    assert graphs == expected[1]
    assert [(b.type, b.line) for b in breaks] == [(b.type, b.line) for b in expected[0]]
