"""Reports are written whole or not at all, and readable as a plain `open(..., "w")` leaves them."""

from __future__ import annotations

import os
import stat

import pytest

from pytest_inferencecheck.support.files import write_atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_report_gets_the_mode_the_umask_gives(tmp_path, umask_022):
    # Issue 19: reports were written with mkstemp's 0600, unreadable to a CI step run as
    # another user (a container's uploader, a web server publishing the JUnit report).
    out = write_atomic(tmp_path / "report.json", "{}")
    assert _mode(out) == 0o644
    with open(tmp_path / "plain.json", "w") as handle:
        handle.write("{}")
    assert _mode(out) == _mode(tmp_path / "plain.json")


def test_a_replaced_report_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "report.xml"
    path.write_text("<old/>")
    path.chmod(0o664)
    write_atomic(path, "<new/>")
    assert path.read_text() == "<new/>"
    assert _mode(path) == 0o664
