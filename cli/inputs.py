"""Files the `assigner` command reads and writes, checked so that a bad path is refused with a
message naming it (exit 2) instead of a traceback, and before any search rather than after."""

from __future__ import annotations

import os
from pathlib import Path

from assigner.domain import InputError, InputIssue, Problem, load_problem
from scenarios.whatif.baseline import unreadable


def read_problem(path: Path) -> Problem:
    """The Problem in ``path``; a file that cannot be read as UTF-8 text (a directory, another
    encoding, no permission) is an :class:`InputError` naming it, as bad JSON is."""
    try:
        return load_problem(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([InputIssue(str(path), "", unreadable(exc))]) from exc


def output_path_error(path: Path, option: str) -> str | None:
    """Why the command could not write a file at ``path`` (given as ``option``), or None: it
    must not be a directory, and its folder must exist and be writable.  Checked before a
    search, so that its result is not lost at the end."""
    if path.is_dir():
        return f"{option} {path} is a directory; give a file name, such as {path / 'plan.json'}"
    folder = path.parent
    if not folder.exists():
        return f"{option} {path}: the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{option} {path}: {folder} is not a folder"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{option} {path}: the file cannot be written (no permission)"
    if not path.exists() and not os.access(folder, os.W_OK):
        return f"{option} {path}: the folder {folder} cannot be written (no permission)"
    return None
