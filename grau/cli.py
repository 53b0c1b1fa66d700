"""`flask grau ...`: operational commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from grau.catalog.seed import seed_catalog

grau_cli = AppGroup("grau", help="grau's operational commands.")


@grau_cli.command("seed-catalog")
def seed_catalog_command() -> None:
    """Load or update grau's exercise and equipment catalog (idempotent)."""
    with current_app.extensions["grau.session_factory"]() as session:
        report = seed_catalog(session)
    click.echo(f"catalog: {report}")
