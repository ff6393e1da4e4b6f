"""Fixes, as ruff has them: a finding may carry edits to its file, marked `safe` (the program
behaves as before: applied by `--fix`) or `unsafe` (what it does may change: applied only with
`--unsafe-fixes` too). Positions are 1-based lines and 1-based character columns, the end
exclusive, as findings have them.

Applying is pure text: the fixes of one pass that do not overlap are applied from the end of
the file, then the file is linted again and the next pass applies what is left (a fix that
overlapped an applied one), as ruff iterates, until nothing applies."""

from __future__ import annotations

import ast
from dataclasses import dataclass

SAFE, UNSAFE = "safe", "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, col) up to (end_line, end_col) with `content`."""

    line: int
    col: int
    end_line: int
    end_col: int
    content: str


@dataclass(frozen=True)
class Fix:
    """What a fix does (`message`), its edits, and whether it keeps behaviour (`safe`)."""

    applicability: str
    message: str
    edits: tuple[Edit, ...]

    @classmethod
    def from_dict(cls, data: dict) -> Fix:
        """A fix as `dataclasses.asdict` wrote it (the lint cache)."""
        return cls(data["applicability"], data["message"],
                   tuple(Edit(**e) for e in data["edits"]))

    def applies(self, unsafe: bool) -> bool:
        """Is this fix applied with (or without) `--unsafe-fixes`?"""
        return self.applicability == SAFE or unsafe


class Source:
    """A file's lines, for turning nodes (UTF-8 byte columns) into character positions (the
    findings' and the fixes') and reading an expression's text back."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def col(self, line: int, byte_offset: int) -> int:
        """The 1-based character column of ast's UTF-8 byte offset on a line (editors,
        GitHub and ruff count characters)."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_offset + 1
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore")) + 1

    def start(self, node: ast.AST) -> tuple[int, int]:
        """Where a node starts (line, character column)."""
        return node.lineno, self.col(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> tuple[int, int]:
        """Where a node ends (exclusive)."""
        return node.end_lineno, self.col(node.end_lineno, node.end_col_offset)

    def text(self, node: ast.AST) -> str:
        """The node's source text, as written."""
        (line, col), (end_line, end_col) = self.start(node), self.end(node)
        if line == end_line:
            return self.lines[line - 1][col - 1:end_col - 1]
        parts = [self.lines[line - 1][col - 1:], *self.lines[line:end_line - 1],
                 self.lines[end_line - 1][:end_col - 1]]
        return "\n".join(parts)

    def replace(self, node: ast.AST, content: str) -> Edit:
        """An edit that replaces a node's text."""
        return Edit(*self.start(node), *self.end(node), content)

    def delete_between(self, start: tuple[int, int], end: tuple[int, int]) -> Edit:
        """An edit that deletes the text between two positions."""
        return Edit(*start, *end, "")

    def insert(self, at: tuple[int, int], content: str) -> Edit:
        """An edit that inserts text at a position."""
        return Edit(*at, *at, content)


def _offsets(text: str) -> list[int]:
    """The offset of each line's first character (lines as ast counts them)."""
    starts, i = [0], 0
    while i < len(text):
        c = text[i]
        if c == "\r" and text[i + 1:i + 2] == "\n":
            i += 1
        if c in "\r\n":
            starts.append(i + 1)
        i += 1
    return starts


def apply(text: str, fixes: list[Fix]) -> tuple[str, int]:
    """Apply the fixes whose edits overlap no earlier applied fix's; return the new text and
    how many fixes were applied (the others wait for the next pass)."""
    starts = _offsets(text)

    def offset(line: int, col: int) -> int:
        return min(starts[line - 1] + col - 1, len(text)) if line <= len(starts) else len(text)

    taken: list[tuple[int, int]] = []
    chosen: list[tuple[int, int, str]] = []
    applied = 0
    for fix in sorted(fixes, key=lambda f: min((e.line, e.col) for e in f.edits)):
        spans = [(offset(e.line, e.col), offset(e.end_line, e.end_col), e.content)
                 for e in fix.edits]
        if any(a < y and x < b or a == b == x == y for a, b, _ in spans for x, y in taken):
            continue
        taken += [(a, b) for a, b, _ in spans]
        chosen += spans
        applied += 1
    for a, b, content in sorted(chosen, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:a] + content + text[b:]
    return text, applied
