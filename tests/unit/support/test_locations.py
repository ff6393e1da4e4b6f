"""User code versus library code, and Dynamo's resume-function names."""

from __future__ import annotations

import os
import sysconfig

import torch

from pytest_inferencecheck.support.locations import clean_function_name, is_user_file, locate

SITE = sysconfig.get_paths()["purelib"]
TORCH = os.path.join(os.path.dirname(torch.__file__), "nn", "modules", "module.py")


def test_this_test_file_is_user_code():
    assert is_user_file(__file__)


def test_libraries_and_pseudo_files_are_not_user_code():
    assert not is_user_file(TORCH)
    assert not is_user_file(os.path.join(SITE, "transformers", "models", "bert", "x.py"))
    assert not is_user_file(os.__file__)  # stdlib
    assert not is_user_file("<eval_with_key>.3")
    assert not is_user_file(os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                         "pytest_inferencecheck", "checking", "api.py"))


def test_resume_functions_map_back_to_the_user_function():
    assert clean_function_name("torch_dynamo_resume_in_forward_at_9") == "forward"
    assert clean_function_name(
        "torch_dynamo_resume_in_torch_dynamo_resume_in_step_at_3_at_5") == "step"
    assert clean_function_name("forward") == "forward"


def test_innermost_user_frame_when_the_event_is_in_user_code():
    user, library = locate([(TORCH, 10, "_call_impl"), (__file__, 20, "forward"),
                            (__file__, 30, "helper")])
    assert (user.line, user.function, user.user_code, library) == (30, "helper", True, None)


def test_library_event_points_at_the_user_line_that_called_it():
    lib = os.path.join(SITE, "transformers", "modeling.py")
    user, library = locate([(__file__, 20, "forward"), (lib, 99, "attention")])
    assert (user.line, user.function) == (20, "forward")
    assert (library.file, library.line, library.user_code) == (lib, 99, False)


def test_no_user_frame_at_all():
    lib = os.path.join(SITE, "transformers", "modeling.py")
    user, library = locate([(lib, 5, "forward"), (lib, 99, "attention")])
    assert user is None and library.line == 99
    assert locate([]) == (None, None)
