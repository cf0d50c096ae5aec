"""What the `assigner` command was given, refused with a message and an exit code rather than a
traceback: the files it writes, checked so that a bad path is refused with a message naming it
(exit 2) before any search rather than after (the files it reads are checked by
``load_problem``), the time limits it takes, and the issues of a refused input."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from assigner.domain import InputError
from assigner.search.cpsat import MAX_TIME_LIMIT_S

"""The longest search a command takes, as the scenario files and the API's jobs allow."""

ERRORS_SHOWN = 5
"""Validation errors listed for a refused document; the rest are counted."""


def exit_on_input_error(console: Console, exc: InputError, code: int) -> NoReturn:
    """Print each of the input's issues on its own line and exit with ``code``: the same
    lines from every command, whichever it is that found them."""
    for issue in exc.issues:
        console.print(f"[red]input error:[/] {escape(str(issue))}", soft_wrap=True)
    raise typer.Exit(code=code) from exc


def time_limit_option(help_text: str, min_s: float) -> typer.models.OptionInfo:
    """A ``--time-limit`` option: a finite number of seconds from ``min_s`` to
    ``MAX_TIME_LIMIT_S``.  The range is checked here rather than by the option's own ``min`` /
    ``max``: those answered NaN and infinity with "Input should be less than or equal to
    3600", which is not what is wrong with them."""

    def checked(value: float) -> float:
        if not math.isfinite(value):
            raise typer.BadParameter(f"{value} is not a finite number of seconds")
        if not min_s <= value <= MAX_TIME_LIMIT_S:
            raise typer.BadParameter(
                f"{value:g} is not within {min_s:g} to {MAX_TIME_LIMIT_S:g} seconds"
            )
        return value

    return typer.Option(help=f"{help_text} At most {MAX_TIME_LIMIT_S:g}.", callback=checked)


def validation_errors(exc: ValidationError, document: str) -> str:
    """The first ``ERRORS_SHOWN`` errors of a refused document, each with its field path, on
    one line (pydantic's own text spans many lines and links to its documentation)."""
    errors = exc.errors()
    shown = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or document}: {err['msg']}"
        for err in errors[:ERRORS_SHOWN]
    )
    more = f" (and {len(errors) - ERRORS_SHOWN} more)" if len(errors) > ERRORS_SHOWN else ""
    return f"{shown}{more}"


def output_path_error(path: Path, option: str, inputs: Sequence[Path] = ()) -> str | None:
    """Why the command could not write a file at ``path`` (given as ``option``), or None: it
    must not be a directory or another kind of special file (a FIFO, a device, a socket: the
    file is written beside itself and then renamed over it, see ``cli.atomic_write``, which
    would replace the special file), nor one of the command's ``inputs``; its folder must exist
    and be writable, and an existing file must be writable.  Checked before a search, so that
    its result is not lost at the end."""
    if path.is_dir():
        return f"{option} {path} is a directory; give a file name, such as {path / 'plan.json'}"
    try:
        mode: int | None = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return (
            f"{option} {path} is {_special_kind(mode)}, not a regular file; give the name of "
            "a file to write"
        )
    if mode is not None:
        for source in inputs:
            if _same_file(path, source):
                return (
                    f"{option} {path} is the same file as the input {source}; writing it would "
                    "replace the input: give another file name"
                )
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


def same_outputs_error(outputs: Sequence[tuple[Path | None, str]]) -> str | None:
    """Why two of a command's output options name one file (the second would replace the
    first), or None."""
    given = [(path, option) for path, option in outputs if path is not None]
    for k, (path, option) in enumerate(given):
        for other, other_option in given[k + 1 :]:
            if Path(os.path.realpath(path)) == Path(os.path.realpath(other)):
                return f"{option} and {other_option} name the same file {path}; give two files"
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
