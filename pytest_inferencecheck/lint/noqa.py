"""`# noqa` directives, read from comment tokens only (as flake8 and ruff do): a `# noqa` inside
a string is text, not a directive.

- `# noqa: IC301` on a line silences those codes there; a bare `# noqa` silences every code.
- `# inferencecheck: noqa: IC102, IC301` anywhere in a file silences those codes in the whole
  file (ruff's `# ruff: noqa: F401`); a bare `# inferencecheck: noqa` skips the file.
- IC900 (off by default, as ruff's RUF100) reports a directive that silences nothing: an `IC`
  code no finding on its line (or file) has, a code no rule has, or a rule that is not
  enabled. Codes of other tools (`# noqa: F401`) and bare `# noqa` are theirs, never reported.

Tokenizing is the slow part of reading a file, so it happens only when needed: a file whose
text never says `noqa` has no directives, and a line's directive is looked for only where a
finding is (or where IC900 asks for all of them).
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from pytest_inferencecheck.lint.fixes import SAFE, Edit, Fix

CODE = r"[A-Z]+[0-9]+"
NOQA = re.compile(rf"#\s*noqa(?::\s*(?P<codes>{CODE}(?:[\s,]+{CODE})*))?", re.IGNORECASE)
FILE_NOQA = re.compile(rf"#\s*inferencecheck:\s*noqa(?::\s*(?P<codes>{CODE}(?:[\s,]+{CODE})*))?",
                       re.IGNORECASE)
OURS = "IC"
UNUSED_NOQA = "IC900"


@dataclass(frozen=True)
class Directive:
    """One `# noqa` comment: where (1-based line, character columns of the matched text, end
    exclusive), its codes (None: every code), and the comment's text."""

    line: int
    col: int
    end_col: int
    codes: tuple[str, ...] | None
    file_level: bool = False


class Directives:
    """A file's directives, tokenized on first need."""

    def __init__(self, source: str, lines: list[str]) -> None:
        self.source = source
        self.lines = lines
        self.mentioned = "noqa" in source.lower()
        self._scanned = False
        self.by_line: dict[int, Directive] = {}
        self.file: list[Directive] = []

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        if not self.mentioned:
            return
        try:
            for tok in tokenize.generate_tokens(io.StringIO(self.source).readline):
                if tok.type == tokenize.COMMENT:
                    self._comment(tok.string, tok.start[0], tok.start[1])
        except (tokenize.TokenError, SyntaxError):  # the AST parsed it; keep what was read
            pass

    def _comment(self, text: str, line: int, col: int) -> None:
        m = FILE_NOQA.search(text)
        if m:
            self.file.append(_directive(m, line, col, file_level=True))
            return
        m = NOQA.search(text)
        if m:
            self.by_line[line] = _directive(m, line, col)

    @property
    def skip_file(self) -> bool:
        """A bare `# inferencecheck: noqa`: the file is not linted."""
        if not self.mentioned or not FILE_NOQA.search(self.source):
            return False
        self._scan()
        return any(d.codes is None for d in self.file)

    def suppresses(self, line: int, code: str) -> bool:
        """Does a directive on `line`, or a file-level one, silence `code`?"""
        if not self.mentioned:
            return False
        if 0 < line <= len(self.lines) and "noqa" not in self.lines[line - 1].lower() and \
                not FILE_NOQA.search(self.source):
            return False  # nothing on this line can say noqa: no tokenizing
        self._scan()
        if any(d.codes is not None and code in d.codes for d in self.file):
            return True
        d = self.by_line.get(line)
        return d is not None and (d.codes is None or code in d.codes)

    def unused(self, found: list[tuple[int, str]], enabled: frozenset[str],
               known: frozenset[str]) -> list[tuple[Directive, str, Fix]]:
        """IC900: each directive with an `IC` code that silenced nothing, the codes named
        (`unused: IC301; unknown: IC999`), and the fix that removes them."""
        self._scan()
        on_line: dict[int, set[str]] = {}
        for line, code in found:
            on_line.setdefault(line, set()).add(code)
        everywhere = {code for _, code in found}
        out = []
        for d in [*self.file, *self.by_line.values()]:
            if d.codes is None:
                continue  # a bare noqa: maybe another tool's
            seen = everywhere if d.file_level else on_line.get(d.line, set())
            unknown = [c for c in d.codes if c.startswith(OURS) and c not in known]
            disabled = [c for c in d.codes if c in known and c not in enabled]
            unused = [c for c in d.codes if c in known and c in enabled and c not in seen]
            if not (unknown or disabled or unused):
                continue
            parts = [f"{what}: {', '.join(f'`{c}`' for c in codes)}" for what, codes in
                     (("unused", unused), ("unknown", unknown), ("non-enabled", disabled))
                     if codes]
            out.append((d, "; ".join(parts), self._removal(d, {*unknown, *disabled, *unused})))
        return sorted(out, key=lambda t: (t[0].line, t[0].col))

    def _removal(self, d: Directive, drop: set[str]) -> Fix:
        text = self.lines[d.line - 1]
        keep = [c for c in (d.codes or ()) if c not in drop]
        start, end = d.col - 1, d.end_col - 1
        if keep:
            prefix = "# inferencecheck: noqa: " if d.file_level else "# noqa: "
            edit = Edit(d.line, d.col, d.line, d.end_col, prefix + ", ".join(keep))
        else:  # the whole directive, and the spaces before it (ruff's removal)
            rest = text[end:].strip()
            while start > 0 and text[start - 1] in " \t":
                start -= 1
            if text[:start].strip() == "" and rest == "":
                edit = Edit(d.line, 1, d.line + 1, 1, "")  # a comment line of its own
            elif rest == "" or rest.startswith("#"):
                edit = Edit(d.line, start + 1, d.line, end + 1, "")
            else:  # `# noqa: IC301 - why`: what follows stays a comment
                edit = Edit(d.line, start + 1, d.line, end + 1, "  #" if start else "#")
        return Fix(SAFE, "Remove unused `noqa` directive", (edit,))


def _directive(m: re.Match[str], line: int, col: int, file_level: bool = False) -> Directive:
    """A directive from a match in a comment that starts at (1-based line, 0-based col)."""
    codes = m.group("codes")
    return Directive(line, col + m.start() + 1, col + m.end() + 1,
                     None if codes is None else
                     tuple(dict.fromkeys(c.upper() for c in re.split(r"[\s,]+", codes))),
                     file_level)
