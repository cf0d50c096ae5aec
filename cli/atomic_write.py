"""Writing the command's documents (plans, states) so that a reader finds the old file or the
new one, never a part of the new one: a crash or a full disk in the middle of a write would
otherwise leave a truncated JSON that a later ``rebalance apply`` or ``explain`` reads."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from scenarios.report_folder import sync_folder


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder, flushed
    to disk before it is renamed over ``path``.

    On any error the temporary file is removed, ``path`` is left as it was and the error
    (``OSError`` for the file system's) is raised.  A symlink is followed (its target is
    replaced, not the link); an existing file keeps its permission bits, a new one gets those
    the umask gives, as with a plain write.  An existing ``path`` that is not a regular file
    (a FIFO, a device such as /dev/null, a socket) is refused with ``OSError`` (EINVAL): the
    rename would replace the special file itself, not write to it."""
    target = Path(os.path.realpath(path))
    try:
        st_mode = target.stat().st_mode
    except FileNotFoundError:
        mode: int | None = None
    else:
        if not stat.S_ISREG(st_mode):
            raise OSError(errno.EINVAL, "not a regular file (it would be replaced)", str(path))
        mode = stat.S_IMODE(st_mode)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    sync_folder(target.parent)
