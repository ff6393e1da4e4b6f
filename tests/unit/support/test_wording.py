"""Figures read right: counts agree with their nouns, long text is cut at a word (issue 31)."""

from __future__ import annotations

from pytest_inferencecheck.support.wording import clip, plural


def test_counts_agree_with_their_nouns():
    assert [plural(n, "issue") for n in (0, 1, 2)] == ["0 issues", "1 issue", "2 issues"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "leaf", "leaves") == "3 leaves"


def test_text_is_cut_at_a_word_boundary():
    reason = "Failed to trace builtin operator `print`: Dynamo does not know how to trace it"
    cut = clip(reason, 40)
    assert cut == "Failed to trace builtin operator..." and len(cut) <= 40
    assert clip("short", 40) == "short"
    assert clip("x" * 50, 20) == "x" * 17 + "..."  # one long word: cut inside it, said so
