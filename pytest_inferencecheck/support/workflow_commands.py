"""GitHub Actions workflow commands (`::error file=...,line=...::message`), escaped as the runner
reads them: shared by the check's annotations and the linter's."""

from __future__ import annotations


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (also ':' and ',')."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, *, file: str | None = None, line: int | None = None,
            col: int | None = None, end_line: int | None = None, end_col: int | None = None,
            title: str | None = None) -> str:
    """One `::error file=...,line=...,col=...,endLine=...,endColumn=...,title=...::message`
    line (columns 1-based characters; GitHub reads endColumn on a single-line range)."""
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line:
            props.append(f"line={line}")
            if col:
                props.append(f"col={col}")
            if end_line:
                props.append(f"endLine={end_line}")
                if end_col and end_line == line:
                    props.append(f"endColumn={end_col}")
    if title:
        props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}" if props else \
        f"::{level}::{escape_data(message)}"
