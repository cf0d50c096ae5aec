"""Tests that ``write_text_atomic`` leaves the old file or the new one, never a part of the
new one, and no temporary file beside it."""

from __future__ import annotations

import errno
import os
import signal
import stat
from pathlib import Path

import pytest

from cli.atomic_write import write_text_atomic


def test_writes_the_text_and_keeps_the_files_permissions(tmp_path: Path) -> None:
    """Tests that the new text replaces the old, that an existing file keeps its permission
    bits (the temporary file it is renamed from has others), and that nothing else is left."""
    path = tmp_path / "plan.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_text_atomic(path, '{"new": "ü"}')
    assert path.read_text(encoding="utf-8") == '{"new": "ü"}'
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert list(tmp_path.iterdir()) == [path]


def test_a_symlink_is_followed(tmp_path: Path) -> None:
    """Tests that writing through a symlink replaces its target and leaves the link a link,
    as a plain write does."""
    target = tmp_path / "plan-2026-11-28.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "latest.json"
    link.symlink_to(target.name)
    write_text_atomic(link, "new")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new"


def test_a_failed_flush_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that when the disk refuses the data at the flush, the error is raised, the old
    file is as it was and the temporary file is gone."""

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    path = tmp_path / "plan.json"
    path.write_text('{"old": true}', encoding="utf-8")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)):
        write_text_atomic(path, '{"new": true}')
    assert path.read_text(encoding="utf-8") == '{"old": true}'
    assert list(tmp_path.iterdir()) == [path]


def test_a_write_cut_off_midway_leaves_the_old_file(tmp_path: Path) -> None:
    """Tests that a write the file system cuts off after some of the data (a file size limit,
    as a full disk does) leaves the old file whole, where a plain write would have truncated
    it, and no temporary file."""
    resource = pytest.importorskip("resource")
    path = tmp_path / "plan.json"
    path.write_text('{"old": true}', encoding="utf-8")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, limits[1]))
        with pytest.raises(OSError) as raised:
            write_text_atomic(path, "x" * 100_000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert raised.value.errno == errno.EFBIG
    assert path.read_text(encoding="utf-8") == '{"old": true}'
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_a_special_file_is_refused_not_replaced(tmp_path: Path) -> None:
    """Tests that a FIFO (as a device such as /dev/null would be) at the path, or behind a
    symlink there, is refused with EINVAL and stays what it was, with no temporary file left:
    the rename would have replaced it with a regular file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "latest.json"
    link.symlink_to(fifo.name)
    for path in (fifo, link):
        with pytest.raises(OSError) as raised:
            write_text_atomic(path, "new")
        assert raised.value.errno == errno.EINVAL
        assert "not a regular file" in str(raised.value)
    assert fifo.is_fifo() and link.is_symlink()
    assert sorted(tmp_path.iterdir()) == [link, fifo]
