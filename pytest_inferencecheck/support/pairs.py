"""Which ExecuTorch release is tested with which torch: stated once, here.

ExecuTorch is built against one torch release, and its own requirements do not always say
which (1.5.1 names no torch at all), so pip may install a pair nobody tested: the `[executorch]`
extra allows every release tested with a torch it allows (`executorch>=1.4.1,<1.6`), and pip
picks the newest, even beside an older torch. The README's table, the extra's bounds and
`.ci/compat` are checked against `TESTED` (tests/unit/support/test_pairs.py); every run's header
says the pair it used and warns on an untested one.

Pure: no imports, so `.ci/compat` reads it before anything is installed.
"""

from __future__ import annotations

from importlib import metadata

#: torch release (major.minor) -> the ExecuTorch release tested with it.
TESTED: dict[str, str] = {
    "2.10": "1.1.0",
    "2.11": "1.2.0",
    "2.12": "1.3.0",
    "2.13": "1.4.1",
    "2.14": "1.5.1",
}


def _minor(version: str) -> str:
    return ".".join(version.split("+", 1)[0].split(".")[:2])


def tested_executorch(torch_version: str) -> str | None:
    """The ExecuTorch release tested with this torch (None: no torch release of ours)."""
    return TESTED.get(_minor(torch_version))


def pair_line(torch_version: str, executorch_version: str | None) -> tuple[str, bool]:
    """The run header's line about the pair, and whether it is a tested one."""
    if executorch_version is None:
        return (f"torch {torch_version}, ExecuTorch not installed (the mobile and edge rows "
                "need pytest-inferencecheck[executorch])", True)
    paired = tested_executorch(torch_version)
    base = executorch_version.split("+", 1)[0]
    if paired is not None and base == paired:
        return f"torch {torch_version} + ExecuTorch {executorch_version} (a tested pair)", True
    want = (f"torch {_minor(torch_version)} is tested with ExecuTorch {paired}: "
            f"pip install executorch=={paired}" if paired else
            f"torch {_minor(torch_version)} is not a tested release")
    return (f"torch {torch_version} + ExecuTorch {executorch_version}: an UNTESTED pair; the "
            f"ExecuTorch rows may fail for the pair, not the model ({want})", False)


def installed() -> tuple[str | None, str | None]:
    """The installed torch and ExecuTorch versions, from their metadata (nothing imported)."""
    found: list[str | None] = []
    for name in ("torch", "executorch"):
        try:
            found.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            found.append(None)
    return found[0], found[1]


def header() -> tuple[str, bool]:
    """`pair_line` for what is installed here."""
    torch_version, executorch_version = installed()
    return pair_line(torch_version or "not installed", executorch_version)
