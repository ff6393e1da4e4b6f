"""Sizes as people write and read them: `5G` in, `1.9 MiB` out (the store's cap, the reports)."""

from __future__ import annotations


def parse_size(text: str | int) -> int:
    """`5G`, `500M`, `2GiB`, `1048576` -> bytes; raises ValueError with what is valid."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"size must be positive, got {text}")
        return text
    if not isinstance(text, str):
        raise ValueError(f"size must be a string like '5G' or a number of bytes, got {text!r}")
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    scale = units.get(s[-1:], 1)
    number = s[:-1] if s[-1:] in units else s
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"size {text!r} is not a size: use bytes or a number with K, M, G or T "
                         "(e.g. 5G)") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"size {text!r} must be positive")
    return int(value * scale)


def human(n: int) -> str:
    """Bytes as a short human-readable size."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """`30d`, `12h`, `90m`, `2w`, `3600` (seconds) -> seconds; raises ValueError with what is
    valid."""
    raw = str(text).strip().lower()
    unit = raw[-1:] if raw[-1:] in _AGE_UNITS else "s"
    number = raw[:-1] if raw[-1:] in _AGE_UNITS else raw
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not raw or value < 0 or value != value:
        raise ValueError(f"{text!r} is not an age: give a number with s, m, h, d or w (e.g. 30d)")
    return value * _AGE_UNITS[unit]
