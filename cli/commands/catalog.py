"""`dagger catalog`: the CUE packages bundled with Archon."""

from __future__ import annotations

import json

import click
from rich.table import Table

from archon.cli.common import console
from archon.cli.errors import UserError
from archon.engine.catalog import get_package, list_packages


@click.command("catalog")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def command(name: str | None, as_json: bool) -> None:
    """List the catalog's packages, or show the documentation of package NAME."""
    packages = list_packages()
    if name is not None:
        package = get_package(name)
        if package is None:
            raise UserError(f"catalog package {name!r} not found", "known packages: " + ", ".join(p.name for p in packages))
        packages = [package]

    if as_json:
        document = [
            {
                "name": package.name,
                "import": package.import_path,
                "doc": package.doc,
                "definitions": {definition.name: definition.doc for definition in package.definitions},
            }
            for package in packages
        ]
        click.echo(json.dumps(document, indent=2))
        return

    if name is not None:
        package = packages[0]
        click.echo(f'import "{package.import_path}"\n')
        click.echo(package.doc)
        for definition in package.definitions:
            click.echo(f"\n{package.name}.{definition.name}")
            for line in definition.doc.splitlines():
                click.echo(f"    {line}")
        return

    table = Table(box=None, header_style="bold")
    for column in ("IMPORT", "DEFINITIONS", "SUMMARY"):
        table.add_column(column)
    for package in packages:
        table.add_row(package.import_path, ", ".join(d.name for d in package.definitions), package.summary)
    console().print(table)
