"""`flask grau ...`: operational commands."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from grau.catalog.seed import seed_catalog
from grau.sync.service import prune_tombstones

grau_cli = AppGroup("grau", help="grau's operational commands.")


@grau_cli.command("prune-tombstones")
def prune_tombstones_command() -> None:
    """Forget deletions older than SYNC_RETENTION_DAYS (and a day): run it daily."""
    retention = timedelta(days=current_app.config["SYNC_RETENTION_DAYS"])
    with current_app.extensions["grau.session_factory"]() as session:
        pruned = prune_tombstones(session, retention)
    click.echo(f"tombstones pruned: {pruned}")


@grau_cli.command("seed-catalog")
def seed_catalog_command() -> None:
    """Load or update grau's exercise and equipment catalog (idempotent)."""
    with current_app.extensions["grau.session_factory"]() as session:
        report = seed_catalog(session)
    click.echo(f"catalog: {report}")
