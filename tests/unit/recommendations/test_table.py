"""The table as data: rows, targets, aliases, and the errors for unknown names."""

from __future__ import annotations

import pytest

from pytest_inferencecheck import ALIASES, TABLE, TARGETS, TECHNOLOGIES, InferenceCheckError
from pytest_inferencecheck.recommendations.table import resolve_target, resolve_technology, row


def test_table_has_the_eight_rows_of_the_note_in_order():
    assert [r.number for r in TABLE] == list(range(1, 9))
    assert [r.technology for r in TABLE] == [
        "executorch", "executorch", "aoti-python", "torch.compile", "torch.compile", "aoti-cpp",
        "torch.compile", "eager"]
    assert all(r.technology in TECHNOLOGIES for r in TABLE)
    assert row(6).platform.endswith("non-Python deployment")


def test_targets_are_the_design_ids():
    assert set(TARGETS) == {
        "mobile-ios", "mobile-android", "edge", "server-x86-python", "server-cuda-python",
        "server-aarch64-python", "server-x86-cpp", "server-cuda-cpp", "server-aarch64-cpp", "mac"}
    assert all(t.id == key for key, t in TARGETS.items())


@pytest.mark.parametrize("alias, canonical", [("embedded", "edge"), ("mac-mps", "mac"),
                                              ("  Server-X86-Python ", "server-x86-python")])
def test_aliases_resolve_to_canonical_ids(alias, canonical):
    assert resolve_target(alias).id == canonical
    assert set(ALIASES.values()) <= set(TARGETS)


def test_unknown_target_lists_valid_ones_and_suggests_nearest():
    with pytest.raises(InferenceCheckError) as exc:
        resolve_target("server-x86-pyhton")
    msg = str(exc.value)
    assert "Did you mean 'server-x86-python'?" in msg
    assert all(t in msg for t in TARGETS)


def test_non_string_target_is_a_clear_error():
    with pytest.raises(InferenceCheckError, match="target must be a string"):
        resolve_target(3)


def test_unknown_technology_suggests_nearest():
    assert resolve_technology("torch.compile") == "torch.compile"
    with pytest.raises(InferenceCheckError, match="Did you mean 'executorch'"):
        resolve_technology("executorc")
