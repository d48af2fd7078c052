"""The ``timeline`` command line, thin over ingest, store and formats.

``timeline`` is a plain click group that makes the app itself (:func:`_app_for_command`):
it says which database file it uses and refuses to create one by accident. The same
commands are Flask CLI plugins too (``flask.commands`` entry points in pyproject.toml), so
``flask --app service ...`` works as well.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from . import auth, create_app, formats, ingest, replication
from . import config as config_module
from . import store as store_module

# Commands that make the database file when it does not exist. Every other command needs
# --create for that, so that one run from the wrong directory cannot quietly start an
# empty database beside the real one.
CREATES_DATABASE = ("serve", "seed", "restore", "cluster")
_CREATE_FLAG = "timeline.create"


def _store() -> store_module.Store:
    return store_module.connect(current_app.config["DATABASE"])


def _app_for_command():
    """The app for the running command, after checking its database file exists (or may be
    made), and saying on standard error which file it is."""
    ctx = click.get_current_context()
    try:
        settings = config_module.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    path = os.path.abspath(str(settings["DATABASE"]))
    may_create = ctx.command.name in CREATES_DATABASE or ctx.meta.get(_CREATE_FLAG, False)
    if not os.path.exists(path) and not may_create:
        raise click.ClickException(
            f"no database at {path}; run this where the service's database is, set "
            f"TIMELINE_DATABASE, or add --create to start a new one"
        )
    click.echo(f"timeline: database {path}", err=True)
    return create_app()


def _remember_create(ctx: click.Context, _param, value: bool) -> None:
    if value:
        ctx.meta[_CREATE_FLAG] = True


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("timeline-service")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="""Timeline event service: serve the API, load and export events, manage tokens.

    The database is the file TIMELINE_DATABASE names (default: timeline.db in the current
    directory); every command says on standard error which file it uses. Commands other than
    serve and seed refuse to create a missing database file unless given --create.

    Example: TIMELINE_DATABASE=/srv/timeline.db timeline serve --port 8000
    """,
)
@click.version_option(_version(), "--version", "-V", prog_name="timeline", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    if not isinstance(ctx.obj, ScriptInfo):  # a test runner or `flask` brings its own
        ctx.obj = ScriptInfo(create_app=_app_for_command, set_debug_flag=False, load_dotenv_defaults=False)


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
    click.echo(
        f"seed {used}: events created {counts.created}, updated {counts.updated}, "
        f"unchanged {counts.unchanged}; timelines created {t['created']}, "
        f"updated {t['updated']}, unchanged {t['unchanged']}"
    )


def _workers_option(what: str):
    """The --workers option of serve and cluster (1 to 64; unset means cores + 1)."""
    return click.option(
        "--workers", default=None, type=click.IntRange(1, 64), help=f"{what} [default: cores + 1]."
    )


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")
@_workers_option("gunicorn worker processes")
@click.option(
    "--replica",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda _ctx, _param, value: (
        os.environ.__setitem__("TIMELINE_ROLE", "replica") if value else None
    ),
    help="Serve reads from a copy of TIMELINE_REPLICA_URL that Litestream keeps in step (the copy is "
    "TIMELINE_DATABASE); writes are answered 307 to TIMELINE_PRIMARY. Same as TIMELINE_ROLE=replica.",
)
@with_appcontext
def serve_command(host: str, port: int, workers: int | None) -> None:
    """Run the service under gunicorn, creating and seeding the database if it is empty.

    The port is bound first: one that is already in use is an error, before anything is
    served. Workers and timeouts come from service/gunicorn_conf.py (TIMELINE_WORKERS,
    TIMELINE_TIMEOUT).

    Example: timeline serve --host 0.0.0.0 --port 8000 --workers 4
    """
    # Bind here, so a port in use is one clear line, then hand the listening socket to
    # gunicorn (fd://), which serves it as if it had bound it.
    listener = _listen(host, port)
    if current_app.config["ROLE"] == "replica":
        _serve_replica(listener, host, port, workers)
        return
    store = _store()
    if store.event_count() == 0:
        counts, used = ingest.load_seed(store, current_app.config.get("SEED_DIR"))
        click.echo(f"empty database: seeded {counts.created} events from {used}")
    conf = Path(__file__).with_name("gunicorn_conf.py")
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), "--bind", f"fd://{listener.fileno()}"]
    if workers:
        argv += ["--workers", str(workers)]
    env = dict(os.environ, TIMELINE_DATABASE=current_app.config["DATABASE"])
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving {current_app.config['DATABASE']} at http://{shown}:{port}/")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv + ["service:create_app()"], env)


def _serve_replica(listener: socket.socket, host: str, port: int, workers: int | None) -> None:
    """serve --replica: litestream restore -f into TIMELINE_DATABASE, gunicorn on it (read-only)."""
    from . import cluster

    config = current_app.config
    if not config["REPLICA_URL"]:
        raise click.ClickException("serve --replica needs TIMELINE_REPLICA_URL (the primary's replica URL)")
    if not config["PRIMARY"]:
        click.echo("warning: TIMELINE_PRIMARY is not set; writes will be refused, not redirected", err=True)
    copy = config["DATABASE"]
    argv = cluster.gunicorn_argv(f"fd://{listener.fileno()}", workers) + ["service:create_app()"]
    env = dict(os.environ, TIMELINE_DATABASE=copy, TIMELINE_ROLE="replica")
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"replica of {config['REPLICA_URL']}: following into {copy}, serving at http://{shown}:{port}/"
    )
    sys.stdout.flush()
    try:
        status = cluster.serve_replica(copy, config["REPLICA_URL"], argv, env, pass_fds=(listener.fileno(),))
    except replication.ReplicationError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(status)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port that survives exec; ClickException if it cannot be."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror}") from None
    try:
        listener = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = "is already in use (is the service running already? try --port)"
        elif exc.errno == errno.EACCES:
            why = "needs privileges this user lacks (ports below 1024 do)"
        else:
            why = f"cannot be used: {exc.strerror}"
        raise click.ClickException(f"port {port} on {host} {why}") from None
    listener.set_inheritable(True)
    return listener


# --------------------------------------------------------------------------- tokens


@main.group("tokens")
def tokens_group() -> None:
    """Create, list and revoke API tokens (stored only as hashes).

    Example: timeline tokens create newsroom-bot --scope write
    """


@tokens_group.command("create")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(auth.SCOPES),
    default="write",
    show_default=True,
    help="read < write < admin: each can do all the lower ones can.",
)
@with_appcontext
def tokens_create(name: str, scope: str) -> None:
    """Make a token and print it once; only its hash is kept.

    Example: timeline tokens create newsroom-bot --scope write
    """
    token = auth.new_token()
    try:
        _store().add_token(name, scope, auth.hash_token(token))
    except store_module.Conflict:
        raise click.ClickException(f"a token named '{name}' exists; revoke it first") from None
    click.echo(token)
    click.echo(f"token '{name}' ({scope}) created; it is shown only now", err=True)


@tokens_group.command("list")
@with_appcontext
def tokens_list() -> None:
    """List tokens: name, scope, creation and last use (never the token).

    Example: timeline tokens list
    """
    rows = _store().list_tokens()
    if not rows:
        click.echo("no tokens", err=True)
    for row in rows:
        click.echo(
            f"{row['name']}\t{row['scope']}\tcreated {row['created_at']}\tlast used {row['last_used_at'] or 'never'}"
        )


@tokens_group.command("revoke")
@click.argument("name")
@with_appcontext
def tokens_revoke(name: str) -> None:
    """Revoke a token; every worker refuses it from the next request on.

    Example: timeline tokens revoke newsroom-bot
    """
    try:
        _store().revoke_token(name)
    except store_module.NotFound:
        raise click.ClickException(f"no token named '{name}'") from None
    click.echo(f"token '{name}' revoked")


# --------------------------------------------------------------------------- import and export


def _file_items(path: Path):
    """Items of one file: JSON array (.json), NDJSON (.ndjson/.jsonl) or CSV as export writes it."""
    from . import formats, jsonio

    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            yield from formats.csv_read(fh)
        return
    with path.open("rb") as fh:
        items = jsonio.iter_ndjson(fh) if suffix in (".ndjson", ".jsonl") else jsonio.iter_array(fh)
        try:
            yield from items
        except jsonio.JSONError as exc:
            raise click.ClickException(f"{path}: {exc}") from None


@main.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.option(
    "--create-timelines/--no-create-timelines",
    default=True,
    show_default=True,
    help="Create a timeline that an event names but the database lacks (title = slug).",
)
@click.option(
    "--parallel/--no-parallel",
    default=True,
    show_default=True,
    help="Validate in worker processes while writing (files over 4 MB, machines with 2+ cores).",
)
@with_appcontext
def import_command(files: tuple[Path, ...], dry_run: bool, create_timelines: bool, parallel: bool) -> None:
    """Upsert events from JSON, NDJSON or CSV files by id, all files in one transaction.

    Every item is validated; if any is invalid nothing is written and each bad item is
    named with its file, index and field. A progress bar shows on a terminal.

    Example: timeline import archive.ndjson extra.csv
    """
    offsets: list[tuple[int, Path]] = []
    blank_lines: dict[Path, list[int]] = {}
    read = [0]  # bytes of the files read so far (NDJSON line by line, other files when done)

    def items():
        index = 0
        for path in files:
            offsets.append((index, path))
            if path.suffix.lower() in (".ndjson", ".jsonl"):
                # Raw lines: they are parsed where they are validated (in the workers).
                blanks = blank_lines[path] = []
                with path.open("rb") as fh:
                    for number, line in enumerate(fh, start=1):
                        read[0] += len(line)
                        if not line.strip():
                            blanks.append(number)
                            continue
                        yield line
                        index += 1
                continue
            for item in _file_items(path):
                yield item
                index += 1
            read[0] += path.stat().st_size

    def where(index: int) -> tuple[Path, int]:
        start, path = max((o for o in offsets if o[0] <= index), key=lambda o: o[0])
        return path, index - start

    total = sum(p.stat().st_size for p in files)
    show = sys.stderr.isatty()
    with (
        click.progressbar(length=max(total, 1), label="importing", file=sys.stderr, show_pos=False)
        if show
        else _NullBar() as bar
    ):
        counter = [0]
        shown = [0]

        def progress(n: int) -> None:
            counter[0] += n
            if counter[0] % 1000 == 0:
                bar.update(read[0] - shown[0])
                shown[0] = read[0]

        try:
            counts = ingest.import_items(
                _store(),
                items(),
                dry_run=dry_run,
                progress=progress if show else None,
                create_timelines=create_timelines,
                bulk=True,
                parallel=parallel and (os.cpu_count() or 1) > 1 and total > 4_000_000,
            )
        except ingest.Unreadable as exc:
            path, item = where(exc.index)
            line = item + 1  # the item's line, counting the blank lines before it
            for blank in blank_lines.get(path, ()):
                if blank > line:
                    break
                line += 1
            raise click.ClickException(f"{path}: line {line} is not valid JSON: {exc.reason}") from None
        except ingest.BatchInvalid as exc:
            lines = []
            for index, errs in list(exc.errors.items())[:200]:
                path, item = where(int(index))
                lines.append(f"{path}: item {item}: {ingest.flatten(errs)}")
            more = len(exc.errors) - len(lines)
            raise click.ClickException(
                "nothing imported; invalid items:\n"
                + "\n".join(lines)
                + (f"\n... and {more} more" if more > 0 else "")
            ) from None
        if show:
            bar.update(total - shown[0])
    verb = "would import" if dry_run else "imported"
    if counts.timelines_created:
        click.echo(
            f"created timeline(s) named by the events: {', '.join(counts.timelines_created)}", err=True
        )
    click.echo(f"{verb}: created {counts.created}, updated {counts.updated}, unchanged {counts.unchanged}")


class _NullBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass


@main.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(formats.FORMATS),
    default="ndjson",
    show_default=True,
    help="Any format of GET /events.",
)
@click.option(
    "--group",
    type=click.Choice(formats.GROUP_BY),
    default=None,
    help="Grouping for timelinejs and vis.",
)
@with_appcontext
def export_command(fmt: str, group: str | None) -> None:
    """Write every event, in chronological order, to standard output.

    json is an array that `timeline import` reads back; ndjson and csv round-trip too.

    Example: timeline export --format csv > events.csv
    """
    store = _store()
    title = current_app.config.get("API_TITLE", "Timeline")
    out = sys.stdout.buffer
    for chunk in formats.export(fmt, store.iter_events(store_module.ALL), title=title, group_by=group):
        out.write(chunk)
    out.flush()


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
def backup_command(path: Path, force: bool) -> None:
    """Write a consistent copy of the database to PATH, while the service runs.

    SQLite's online backup copies one snapshot (readers and writers carry on; a write
    committed during the copy is either wholly in it or not at all). The copy is written
    beside PATH, checked with PRAGMA integrity_check, then renamed into place. Restore by
    stopping the service and copying PATH over TIMELINE_DATABASE (its -wal and -shm files
    removed), or by pointing TIMELINE_DATABASE at it.

    Example: timeline backup /var/backups/timeline-$(date +%F).db
    """
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to replace it")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    check = store_module.backup(current_app.config["DATABASE"], partial)
    if check.integrity != "ok":
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"the copy failed its integrity check: {check.integrity}")
    os.replace(partial, path)
    click.echo(
        f"backed up {check.events} events (change feed at seq {check.seq}) to {path} ({path.stat().st_size} bytes)"
    )


# --------------------------------------------------------------------------- several machines


@main.command("replicate")
@with_appcontext
def replicate_command() -> None:
    """Stream the database to TIMELINE_REPLICA_URL with Litestream, until stopped.

    Any Litestream replica URL: file:///path, s3://bucket/path (S3-compatible stores with
    ?endpoint=URL; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), gs://,
    abs://, sftp://. Settings are in deploy/litestream.yml; see docs/operations.md.

    Example: TIMELINE_REPLICA_URL=s3://backups/timeline timeline replicate
    """
    url = current_app.config["REPLICA_URL"]
    if not url:
        raise click.ClickException("set TIMELINE_REPLICA_URL to where the database should be streamed")
    try:
        argv = replication.replicate_argv()
    except replication.ReplicationError as exc:
        raise click.ClickException(str(exc)) from None
    env = replication.replicate_env(current_app.config["DATABASE"], url)
    click.echo(f"replicating {current_app.config['DATABASE']} to {url}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)


@main.command("restore")
@click.option("--from", "source", required=True, help="The replica URL to restore from.")
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The database file to write (must not exist) [default: TIMELINE_DATABASE].",
)
@click.option(
    "--timestamp",
    default=None,
    help="Restore the state as of this moment (ISO 8601, e.g. 2026-12-03T09:30:00Z) instead of the latest.",
)
def restore_command(source: str, target: Path | None, timestamp: str | None) -> None:
    """Restore a database from a replica URL: its latest state, or as of a point in time.

    The file must not exist yet; point TIMELINE_DATABASE at it (or move it into place
    with the service stopped) to serve it.

    Example: timeline restore --from s3://backups/timeline --to restored.db --timestamp 2026-12-03T09:30:00Z
    """
    from datetime import UTC, datetime

    if target is None:
        target = Path(str(config_module.from_env()["DATABASE"]))
    if target.exists():
        raise click.ClickException(f"{target} exists; restore to a new file (--to)")
    when = None
    if timestamp:
        try:
            moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise click.ClickException(
                f"--timestamp {timestamp!r} is not an ISO 8601 date and time"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        when = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    try:
        replication.restore(source, str(target), when)
    except replication.ReplicationError as exc:
        raise click.ClickException(str(exc)) from None
    restored = store_module.Store(str(target))
    try:
        events, seq = restored.event_count(), restored.data_version()
    finally:
        restored.close()
    state = f"as of {when}" if when else "latest"
    click.echo(f"restored {source} ({state}) to {target}: {events} events, change feed at seq {seq}")


@main.command("cluster")
@click.option("--replicas", default=2, show_default=True, type=click.IntRange(0, 16), help="Replica nodes.")
@click.option(
    "--port", default=8080, show_default=True, type=int, help="nginx's port; nodes use the next ones."
)
@click.option(
    "--dir",
    "directory",
    default="cluster",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Every file but the primary's database: copies, logs, nginx, cluster.json.",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="nginx's interface (nodes stay on 127.0.0.1)."
)
@_workers_option("gunicorn workers per node")
@click.option(
    "--max-exports",
    default=4,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Streamed exports at once.",
)
def cluster_command(
    replicas: int, port: int, directory: Path, host: str, workers: int | None, max_exports: int
) -> None:
    """Run the whole topology here, in the foreground, until stopped (Ctrl-C).

    The primary on TIMELINE_DATABASE with Litestream streaming it to TIMELINE_REPLICA_URL
    (default file://DIR/replica), N replicas following it, nginx on PORT in front; each
    node on 127.0.0.1 (the primary on PORT+1, replica I on PORT+2+I). DIR/cluster.json
    says where each is and its process ids. A process that dies is started again.

    Example: timeline cluster --replicas 2 --port 8080 --dir ./cluster
    """
    from . import cluster

    try:
        cluster.run(replicas, port, str(directory), host, workers=workers, max_exports=max_exports)
    except (replication.ReplicationError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None


def _add_create_option(group: click.Group) -> None:
    """--create on every command that uses the database but may not make it (see
    CREATES_DATABASE), consumed by :func:`_app_for_command`."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            _add_create_option(command)
        elif name not in CREATES_DATABASE:
            command.params.append(
                click.Option(
                    ["--create"],
                    is_flag=True,
                    expose_value=False,
                    callback=_remember_create,
                    help="Create the database file if it does not exist (by default a missing file is an error).",
                )
            )


_add_create_option(main)
