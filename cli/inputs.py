"""What the `assigner` command was given, refused with a message and an exit code rather than a
traceback: the files it writes, checked so that a bad path is refused with a message naming it
(exit 2) before any search rather than after (the files it reads are checked by
``load_problem``), and the issues of a refused input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from assigner.domain import InputError


def exit_on_input_error(console: Console, exc: InputError, code: int) -> NoReturn:
    """Print each of the input's issues on its own line and exit with ``code``: the same
    lines from every command, whichever it is that found them."""
    for issue in exc.issues:
        console.print(f"[red]input error:[/] {escape(str(issue))}", soft_wrap=True)
    raise typer.Exit(code=code) from exc


def output_path_error(path: Path, option: str) -> str | None:
    """Why the command could not write a file at ``path`` (given as ``option``), or None: it
    must not be a directory, its folder must exist and be writable (the file is written beside
    itself and then renamed over it, see ``cli.atomic_write``), and an existing file must be
    writable.  Checked before a search, so that its result is not lost at the end."""
    if path.is_dir():
        return f"{option} {path} is a directory; give a file name, such as {path / 'plan.json'}"
    folder = Path(os.path.realpath(path)).parent if path.is_symlink() else path.parent
    if not folder.exists():
        return f"{option} {path}: the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{option} {path}: {folder} is not a folder"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{option} {path}: the file cannot be written (no permission)"
    if not os.access(folder, os.W_OK):
        return f"{option} {path}: the folder {folder} cannot be written (no permission)"
    return None
