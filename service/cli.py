"""The ``timeline`` command line: a Flask CLI group, thin over ingest, store and formats."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import create_app, ingest, store as store_module


def _store() -> store_module.Store:
    return store_module.connect(current_app.config["DATABASE"])


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False,
             help="Timeline event service. The database is TIMELINE_DATABASE (default ./timeline.db).")
def main() -> None:
    pass


@main.command("seed")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def seed_command(directory: Path | None) -> None:
    """Load the seed events (default: the repository's seed/) in one transaction.

    Every file is validated before anything is written; a bad file changes nothing and
    is named with the item and field. A second run reports everything unchanged.

    Example: timeline seed ./seed
    """
    try:
        counts, used = ingest.load_seed(_store(), directory)
    except (ingest.SeedError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    t = counts.timelines
    click.echo(f"seed {used}: events created {counts.created}, updated {counts.updated}, "
               f"unchanged {counts.unchanged}; timelines created {t['created']}, "
               f"updated {t['updated']}, unchanged {t['unchanged']}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="gunicorn worker processes [default: cores + 1].")
@with_appcontext
def serve_command(host: str, port: int, workers: int | None) -> None:
    """Run the service under gunicorn, seeding an empty database first.

    Example: timeline serve --host 0.0.0.0 --port 8000 --workers 4
    """
    store = _store()
    if store.event_count() == 0:
        counts, used = ingest.load_seed(store, current_app.config.get("SEED_DIR"))
        click.echo(f"empty database: seeded {counts.created} events from {used}")
    conf = Path(__file__).with_name("gunicorn_conf.py")
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), "--bind", f"{host}:{port}"]
    if workers:
        argv += ["--workers", str(workers)]
    env = dict(os.environ, TIMELINE_DATABASE=current_app.config["DATABASE"])
    click.echo(f"serving {current_app.config['DATABASE']} at http://{host}:{port}/")
    sys.stdout.flush()
    os.execve(sys.executable, argv + ["service:create_app()"], env)
