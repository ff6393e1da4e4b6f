"""The registry: one definition per knob serves check(), the marker, the plugin, the config file
and `inferencecheck run`."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from pytest_inferencecheck import InferenceCheckError
from pytest_inferencecheck.cli import parser
from pytest_inferencecheck.config import settings
from pytest_inferencecheck.config.options import CHECK_KNOBS, REGISTRY, CheckOptions, validate
from pytest_inferencecheck.config.section import SECTION_KEYS


def test_every_knob_is_defined_once_with_help_and_a_validator():
    names = [(k.scope, k.name) for k in REGISTRY]
    assert len(names) == len(set(names))
    assert {k.name for k in settings.SETTINGS} == {f.name for f in
                                                   dataclasses.fields(settings.Settings)}
    assert [k.name for k in CHECK_KNOBS] == [f.name for f in dataclasses.fields(CheckOptions)]
    for k in REGISTRY:
        assert k.help and callable(k.validate), k


def test_the_config_table_takes_exactly_the_run_knobs():
    assert SECTION_KEYS == {k.name for k in settings.SETTINGS} | {"models", "lint"}


def test_a_run_knob_on_a_marker_is_rejected_with_the_check_knobs_named():
    with pytest.raises(InferenceCheckError, match=r"unknown option 'junit' from here; valid "
                                                   r"options: uses, atol, rtol"):
        validate({"junit": "x.xml"}, "here")


def test_pytest_and_the_cli_register_the_same_knobs_from_the_registry():
    pytest_parser = argparse.ArgumentParser()
    settings.add_options(pytest_parser.add_argument)
    given = pytest_parser.parse_args(["--inference-check-target=mac", "--no-inference-check-cache",
                                      "--inference-check-level", "quick"])
    s = settings.resolve(vars(given), {}, "pyproject.toml")
    assert (s.targets, s.cache, s.level) == (("mac",), False, "quick")
    run = parser().parse_args(["run", "m:f", "--target", "mac", "--strict", "--atol", "0.5",
                               "--backends", "eager,aot_eager", "--strict-export"])
    s = settings.resolve(vars(run), {}, "x")
    assert s.strict is True and run.target == ["mac"]
    from pytest_inferencecheck.config.options import from_namespace

    opts = from_namespace(run, "the command line")
    assert (opts.atol, opts.backends, opts.strict_export) == (0.5, ("eager", "aot_eager"), True)
    help_text = parser().format_help() + parser()._subparsers._group_actions[0].choices[
        "run"].format_help()
    for k in REGISTRY:
        if k.form is not None and (k.scope == "check" or k.name in ("strict", "json")):
            assert k.flag_for("--") in help_text, k.name
