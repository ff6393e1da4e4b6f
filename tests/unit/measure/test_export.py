"""Export facts: success, every issue at once with user lines, and the pytree hint."""

from __future__ import annotations

import torch

from pytest_inferencecheck.measure.export import export_model

import models
from models import line_of


def test_clean_model_exports():
    exported = export_model(models.SmallCNN().eval(), models.cnn_inputs(), {})
    assert exported.facts.ok and exported.facts.issues == []
    assert isinstance(exported.program, torch.export.ExportedProgram)


def test_every_issue_is_listed_with_its_user_line():
    exported = export_model(models.DataDependentExport(), (torch.rand(3) + 1,), {})
    assert not exported.facts.ok and exported.program is None
    located = {(i.kind, i.line) for i in exported.facts.issues}
    assert located == {("data-dependent", line_of("export-branch")),
                       ("data-dependent", line_of("export-int"))}
    assert all(i.file == models.__file__ and "torch._check" in i.hint
               for i in exported.facts.issues)


def test_issues_are_listed_again_on_a_second_export_in_the_same_process():
    # torch interns file names once per process; the second report must still name them
    for _ in range(2):
        exported = export_model(models.DataDependentExport(), (torch.rand(3) + 1,), {})
        assert all(i.file == models.__file__ for i in exported.facts.issues)


def test_strict_export_is_recorded():
    exported = export_model(models.SmallCNN().eval(), models.cnn_inputs(), {}, strict=True)
    assert exported.facts.ok and exported.facts.strict


def test_decoder_with_cache_fails_with_the_pytree_hint():
    exported = export_model(models.tiny_gpt2().eval(), models.token_ids(), {})
    assert not exported.facts.ok
    (issue,) = exported.facts.issues
    assert issue.kind == "unregistered-pytree-output"
    assert "DynamicCache" in issue.message and "use_cache=False" in issue.hint
    assert issue.file.endswith("modeling_gpt2.py")  # the forward that returned it


def test_export_failure_writes_nothing_to_stderr(capfd):
    export_model(models.DataDependentExport(), (torch.rand(3) + 1,), {})
    assert "def forward" not in capfd.readouterr().err
