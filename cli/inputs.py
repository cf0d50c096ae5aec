"""Files the `assigner` command writes, checked so that a bad path is refused with a message
naming it (exit 2) before any search rather than after (the files it reads are checked by
``load_problem``)."""

from __future__ import annotations

import os
from pathlib import Path


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
