"""Progress shown while a command works: in a terminal one display redrawn in place (rich's
``Live``), elsewhere (a file, a pipe, a dumb terminal) plain lines that the subclass prints."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.live import Live


class LiveView:
    """Context manager around an optional ``Live``: ``live`` is None outside a terminal, where
    the subclass prints its own lines; ``finish`` runs on exit (e.g. to print the last line)."""

    def __init__(self, console: Console, refresh_per_second: float, transient: bool) -> None:
        self.live = (
            Live(console=console, refresh_per_second=refresh_per_second, transient=transient)
            if console.is_terminal and not console.is_dumb_terminal
            else None
        )

    def __enter__(self) -> Self:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.live.stop()
        else:
            self.finish()

    def finish(self) -> None:
        """Outside a terminal, after the work: nothing unless the subclass says otherwise."""
