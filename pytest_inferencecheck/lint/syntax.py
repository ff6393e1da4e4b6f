"""Which Python a file needs, when the Python running the linter cannot parse it.

`ast` parses with the running interpreter's grammar: on Python 3.11 a file of torch's own tree
that uses 3.12's type parameters (`def f[T](x: T)`) fails with "expected '('", which names
neither the cause nor the fix. Here the syntax newer than the running Python is recognised, so
the message says what the file uses and which Python reads it, as ruff says.
"""

from __future__ import annotations

import re
import sys

# (the first Python with it, what it is, a pattern that finds it on a line)
NEWER_SYNTAX: tuple[tuple[tuple[int, int], str, re.Pattern[str]], ...] = (
    ((3, 11), "`except*` (exception groups, PEP 654)", re.compile(r"^\s*except\s*\*")),
    ((3, 12), "a type parameter list (PEP 695)",
     re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+\w+\s*\[")),
    ((3, 12), "a `type` alias statement (PEP 695)",
     re.compile(r"^\s*type\s+\w+\s*(?:\[[^\]]*\])?\s*=")),
    ((3, 12), "an f-string that reuses its quote inside a replacement field (PEP 701)",
     re.compile(r"""(?<![\w'"])[fF][rR]?(?P<q>["'])[^"'\n]*\{[^}\n]*(?P=q)""")),
    ((3, 13), "a type parameter with a default (PEP 696)",
     re.compile(r"^\s*(?:async\s+)?(?:def|class|type)\s+\w+\s*\[[^\]]*\w\s*=")),
    ((3, 14), "`except` naming several exceptions without parentheses (PEP 758)",
     re.compile(r"^\s*except\*?\s+[\w.]+\s*,\s*[\w.]+\s*:")),
    ((3, 14), "a template string (PEP 750)", re.compile(r"""(?<![\w'"])[tT][rR]?["']""")),
)


def needs(source: str, line: int | None,
          running: tuple[int, int] = sys.version_info[:2]) -> tuple[tuple[int, int], str] | None:
    """The newer syntax behind a parse error: (the Python it needs, what it is); None when the
    file uses none that this Python lacks (a real syntax error). The error's own line is read
    first, then the whole file (a parser can stop a few lines past the cause)."""
    lines = source.splitlines()
    at_error = [lines[line - 1]] if line and 0 < line <= len(lines) else []
    for texts in (at_error, lines):
        found = [(version, what) for text in texts for version, what, pattern in NEWER_SYNTAX
                 if version > running and pattern.search(text)]
        if found:  # the newest wins: `def f[T = int]` is a 3.12 list with a 3.13 default
            return max(found, key=lambda vw: vw[0])
    return None


def parse_error_message(source: str, exc: SyntaxError,
                        running: tuple[int, int] = sys.version_info[:2]) -> str:
    """`cannot parse: ...`, saying which Python the file needs when that is the cause."""
    newer = needs(source, exc.lineno, running)
    if newer is None:
        return f"cannot parse: {exc.msg}"
    (major, minor), what = newer
    return (f"cannot parse with Python {running[0]}.{running[1]}: the file uses {what}, syntax "
            f"of Python {major}.{minor}; run the linter with Python {major}.{minor} or newer "
            f"(the parser said: {exc.msg})")
