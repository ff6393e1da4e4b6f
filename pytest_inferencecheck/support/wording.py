"""How figures read in the terminal: counts that agree with their nouns, text cut at words."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 issue`, `2 issues` (`many`: an irregular plural, `1 entry`, `2 entries`)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with `...` when cut."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 3)
    return text[: cut if cut > limit // 2 else limit - 3].rstrip(" ,;:") + "..."
