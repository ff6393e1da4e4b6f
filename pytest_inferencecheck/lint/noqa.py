"""`# noqa` directives, read from comment tokens only (as flake8 does): a `# noqa` inside a
string is text, not a directive."""

from __future__ import annotations

import io
import re
import tokenize

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
                  re.IGNORECASE)
FILE_NOQA = re.compile(r"#\s*inferencecheck:\s*noqa\b", re.IGNORECASE)


class Directives:
    """A file's `# inferencecheck: noqa` and its per-line `# noqa[: CODES]` comments."""

    def __init__(self, source: str) -> None:
        self.skip_file = False
        self.lines: dict[int, frozenset[str] | None] = {}  # None: every code
        if "noqa" not in source.lower():
            return  # no tokenizing for the files that say nothing
        try:
            for tok in tokenize.generate_tokens(io.StringIO(source).readline):
                if tok.type == tokenize.COMMENT:
                    self._comment(tok.string, tok.start[0])
        except (tokenize.TokenError, SyntaxError):  # the AST parsed it; keep what was read
            pass

    def _comment(self, text: str, line: int) -> None:
        if FILE_NOQA.search(text):
            self.skip_file = True
            return
        m = NOQA.search(text)
        if m:
            codes = m.group("codes")
            self.lines[line] = None if codes is None else frozenset(
                c.upper() for c in re.split(r"[\s,]+", codes))

    def suppresses(self, line: int, code: str) -> bool:
        """Does a directive on `line` silence `code`?"""
        if line not in self.lines:
            return False
        codes = self.lines[line]
        return codes is None or code in codes
