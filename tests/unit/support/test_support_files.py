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


# -- writes that keep what they write to (issue 31) ---------------------------------------------
def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "reports" / "report.json"
    real.parent.mkdir()
    real.write_text("{}")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    write_atomic(link, '{"new": 1}')
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == '{"new": 1}'
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "made.json")
    write_atomic(dangling, "x")
    assert dangling.is_symlink() and (tmp_path / "made.json").read_text() == "x"


def test_a_device_node_is_written_to_never_replaced(tmp_path):
    # Issue 31: `--inference-check-json=/dev/null` replaced the device node with a regular file
    # (as root, /dev/null broken for the whole machine). A private node, not the real one: a
    # regression must not break this machine.
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    before = os.stat(node)
    write_atomic(node, "{}" * 1000)
    after = os.stat(node)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert [p.name for p in tmp_path.iterdir()] == ["null"]  # no temporary file left


def test_a_fifo_is_written_to_not_replaced(tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    write_atomic(fifo, "through the pipe\n")
    reader.join(10)
    assert got == [b"through the pipe\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_hard_links_stay_one_file(tmp_path):
    first = tmp_path / "a.py"
    first.write_text("old\n")
    second = tmp_path / "b.py"
    os.link(first, second)
    write_atomic(first, "new\r\nlines\n")
    assert second.read_bytes() == b"new\r\nlines\n"  # line endings as given
    assert os.stat(first).st_ino == os.stat(second).st_ino and os.stat(first).st_nlink == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_of_another_user_keeps_its_owner_and_mode(tmp_path):
    path = tmp_path / "theirs.py"
    path.write_text("old\n")
    os.chown(path, 4242, 4343)  # a user who need not exist: ownership is numbers
    path.chmod(0o640)
    write_atomic(path, "new\n")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4242, 4343, 0o640)
    assert path.read_text() == "new\n"
