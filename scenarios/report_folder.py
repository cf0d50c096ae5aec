"""A folder of report files written together: after a write the reader finds every new file or
every old one, never a report with its numbers from one run and its HTML from another (or cut
short by a full disk).

The files are first written into a fresh hidden folder inside the target folder (same file
system), flushed, and only when all of them are complete moved over their targets one by one
with ``os.replace``.  A target that is not a regular file (a folder, a link, a pipe) is refused
before anything is replaced.  :func:`report_folder_error` says the same before a run, so that
hours of solves are not lost on a folder that cannot take their report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path


class ReportFolderError(OSError):
    """The report cannot be written to its folder; the message says why, naming the path."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    return "not a regular file"


def _target_error(path: Path) -> str | None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: cannot be checked: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        if not os.access(path, os.W_OK):
            return f"{path} cannot be replaced (no permission)"
        return None
    return f"{path} is {_kind(mode)}, where a report file goes: move it or choose another folder"


def report_folder_error(folder: Path, names: Iterable[str]) -> str | None:
    """Why the files ``names`` could not be written into ``folder`` (created when missing),
    or None.  Checked before solving; :func:`write_report_files` checks again."""
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            return f"{folder} is not a folder (a report is a folder of files)"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the folder {folder} cannot be written (no permission)"
        for name in names:
            problem = _target_error(folder / name)
            if problem:
                return problem
        return None
    parent = folder.absolute().parent  # the folder and its missing parents are created
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create the folder {folder}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create the folder {folder}: {parent} cannot be written (no permission)"
    return None


def write_report_files(folder: Path, texts: Mapping[str, str]) -> dict[str, Path]:
    """Write ``texts`` (file name -> UTF-8 text) into ``folder``, all or none: the targets are
    replaced only once every file is written in full.  Raises :class:`ReportFolderError` (an
    ``OSError``) when a target is not a regular file, or the file system's ``OSError``; then no
    target has been touched.  An existing file keeps its permission bits."""
    problem = report_folder_error(folder, texts)
    if problem:
        raise ReportFolderError(problem)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".report-", suffix=".tmp", dir=folder))
    try:
        written: dict[str, Path] = {}
        for name, text in texts.items():
            path = staging / name
            with path.open("w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            written[name] = path
        targets = {name: folder / name for name in texts}
        for name, target in targets.items():
            problem = _target_error(target)
            if problem:
                raise ReportFolderError(problem)
            with contextlib.suppress(FileNotFoundError):
                os.chmod(written[name], stat.S_IMODE(os.stat(target).st_mode))
        _move_into_place(written, targets, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    sync_folder(folder)
    return targets


def _move_into_place(written: dict[str, Path], targets: dict[str, Path], staging: Path) -> None:
    """Rename each written file over its target; should a rename fail part way (renames in one
    folder hardly do), put back the files already replaced, from hard links kept in
    ``staging``, and remove those that were new."""
    backups: dict[str, Path | None] = {}  # None: there was no old file
    for name, target in targets.items():
        backup = staging / f"{name}.old"
        try:
            os.link(target, backup, follow_symlinks=False)
        except FileNotFoundError:
            backups[name] = None
        except OSError:  # no hard links on this file system: that old file cannot be put back
            pass
        else:
            backups[name] = backup
    done: list[str] = []
    try:
        for name, target in targets.items():
            os.replace(written[name], target)
            done.append(name)
    except BaseException:
        for name in reversed(done):
            with contextlib.suppress(OSError):
                if name not in backups:
                    continue
                old = backups[name]
                if old is None:
                    os.unlink(targets[name])
                else:
                    os.replace(old, targets[name])
        raise


def sync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable where the platform can (POSIX: fsync the folder);
    the command line's single-file writes (``cli.atomic_write``) call it too."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
