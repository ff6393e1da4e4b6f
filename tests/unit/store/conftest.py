"""Fixtures of the sound-reuse tests: an editable model repository, and torch configs changed
for one test with their own `patch`."""

from __future__ import annotations

import contextlib
import sys

import pytest

from sound_repo import Repo


@pytest.fixture
def configured():
    """`configured(torch._dynamo.config, name=value)`: one of torch's configs changed for this
    test with its own `patch` (pytest's monkeypatch cannot restore a ConfigModule)."""
    with contextlib.ExitStack() as stack:
        yield lambda config, **changes: stack.enter_context(config.patch(changes))


@pytest.fixture
def repo(tmp_path, monkeypatch, session_store, cpp_runner):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # an edit within a second still loads
    for var in ("SOUND_SCALE", "SOUND_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    yield Repo(tmp_path, session_store)
    for name in ("sound_helpers", "sound_config", "sound_model"):
        sys.modules.pop(name, None)
