"""`dagger init`: make a folder a workspace."""

from __future__ import annotations

from pathlib import Path

import click

from archon.cli.common import state_errors
from archon.engine.workspace import init


@click.command("init")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@state_errors
def command(path: Path) -> None:
    """Create a workspace (a .dagger folder) in PATH, the current folder by default."""
    workspace = init(path)
    click.echo(f"Created workspace {workspace.root}")
    click.echo("Next: dagger new NAME --plan DIR")
