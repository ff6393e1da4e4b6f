"""Each private torch name the package uses is detected on the installed torch (and falls back
safely where it is missing), and compilers are identified by their binary."""

from __future__ import annotations

import os
import shutil

import torch

from pytest_inferencecheck import compat, toolchain


def test_config_hashes_are_found_stable_and_follow_a_change():
    for module in ("torch._inductor.config", "torch._functorch.config"):
        digest = compat.config_hash(module)
        assert isinstance(digest, str) and len(digest) >= 16
        assert compat.config_hash(module) == digest
    before = compat.config_hash("torch._inductor.config")
    with torch._inductor.config.patch(freezing=not torch._inductor.config.freezing):
        assert compat.config_hash("torch._inductor.config") != before
    assert compat.config_hash("torch._inductor.config") == before


def test_a_config_module_without_a_hash_is_not_keyable():
    assert compat.config_hash("json") is None  # a module with neither get_hash nor a copy
    assert compat.config_hash("no.such.module") is None


def test_the_compiler_inductor_uses_is_found_as_a_path():
    found = compat.inductor_compiler()
    assert found is not None and os.path.isabs(found) and os.access(found, os.X_OK)
    cxx = os.environ.get("CXX", "g++")
    assert os.path.realpath(found) == os.path.realpath(shutil.which(cxx))
    assert cxx in compat.inductor_search_text()


def test_the_functions_behind_a_custom_op_are_found():
    @torch.library.custom_op("compatlib::triple", mutates_args=())
    def triple(x: torch.Tensor) -> torch.Tensor:
        return x * 3

    @triple.register_fake
    def _(x):
        return torch.empty_like(x)

    functions = compat.custom_op_functions("compatlib::triple")
    names = {f.__code__.co_name for f in functions}
    assert {"triple", "_"} <= names
    assert compat.custom_op_functions("compatlib::missing") is None
    assert isinstance(compat.loaded_op_libraries(), list)


def test_a_compiler_is_identified_by_its_binary(tmp_path):
    real = shutil.which("g++")
    wrapper = tmp_path / "g++"
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    first = toolchain.identity(str(wrapper))
    assert first != toolchain.identity(real)  # same name and version, another binary
    assert toolchain.runs(str(wrapper)) and "g++" in toolchain.version(str(wrapper))
    wrapper.write_text("#!/bin/sh\nexit 1\n")  # the same path, broken now
    assert toolchain.identity(str(wrapper)) != first
    assert not toolchain.runs(str(wrapper))
    assert toolchain.identity(str(tmp_path / "missing")).endswith("|missing")
