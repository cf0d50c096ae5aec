"""``python -m api serve|keys ...``: the service's commands without the main CLI."""

from __future__ import annotations

import typer

from api.cli import keys_app, serve_app


def main() -> None:
    app = typer.Typer(no_args_is_help=True, add_completion=False)
    app.add_typer(serve_app, name="serve")
    app.add_typer(keys_app, name="keys")
    app()


if __name__ == "__main__":
    main()
