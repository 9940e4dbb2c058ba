"""The `hotline` command: init-db, deploy, load-demo, serve, worker, deadline, calendar.
Each command calls one function that owns its transactions; the CLI itself commits nothing."""
import functools
import json
import logging
import multiprocessing
import os
import signal
import socket
import time
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import click
from sqlalchemy.exc import DBAPIError

from hotline import calendar_changes, demo, open311_clients, privacy, time_limits
from runtime import backup, history, jobs, migration, outbox, repository, schema, validation
from runtime.errors import InvalidInput, NotFound
from workdays import store

from . import create_app, get_db

log = logging.getLogger("hotline.worker")


@click.group()
def main():
    """Hotline 12345: run a 12345 government service hotline as BPMN processes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # it logs every task state change
    # APScheduler logs two lines per run of every job, several times a second; `_reported`
    # logs one line for a run that did something instead
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@main.command("init-db")
def init_db():
    """Create or upgrade the database schema to the latest migration."""
    db = get_db(create_app())
    schema.upgrade(db)
    click.echo(f"database at head: {_safe_url(db.url)}")


@main.command()
@click.option("--by", default="cli", help="who deploys (recorded on the deployment)")
@click.option("--check", "check_only", is_flag=True, help="only validate, print every problem, deploy nothing")
def deploy(by, check_only):
    """Validate and register the diagrams in processes/ as a new version (refused if any problem)."""
    create_app()  # configures the runtime: the hotline's operators and rules
    files = repository.read_bundle()
    if check_only:
        problems = validation.check(files)
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"{len(problems)} 个问题 / {len(problems)} problem(s)" if problems
                   else f"没有发现问题 / no problems ({', '.join(files)})")
        raise SystemExit(1 if problems else 0)
    db = get_db(create_app())
    try:
        deployment, created = repository.deploy_bundle(db, files, deployed_by=by)
        click.echo(f"{deployment.process_key} v{deployment.version} "
                   f"({'deployed' if created else 'unchanged'}; "
                   f"{', '.join(n for n in files if not n.startswith(repository.FORMS))}, "
                   f"{sum(n.endswith('.schema.json') for n in files)} forms)")
    except validation.BundleInvalid as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(err)) from err


@main.command("load-demo")
def load_demo():
    """Load the demo province, units and users (password: demo12345)."""
    db = get_db(create_app())
    created = demo.load(db)
    created["open_appeals"] = demo.start_open_appeals(db)
    click.echo(f"demo data: {created}")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int, envvar="PORT", show_default=True,
              help="also from $PORT (PORT=5001 make run); PUBLIC_BASE_URL must name the same port")
@click.option("--no-worker", is_flag=True, help="do not run the job loop in this process")
def serve(host, port, no_worker):
    """Serve the web app; in the embedded default the worker runs in-process too."""
    app = create_app()
    if not no_worker:
        scheduler = _scheduler(app, background=True)
        scheduler.start()
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command()
@click.option("--processes", default=1, type=click.IntRange(1, 32), show_default=True,
              help="worker processes sharing the job table (PostgreSQL); each runs WORKER_THREADS loops")
def worker(processes):
    """Run the job loop alone (one or more next to gunicorn on PostgreSQL). Timers falling due
    together (17:30 on a working day) drain faster with several processes: each claims its own
    batches with FOR UPDATE SKIP LOCKED, so none fires a timer twice."""
    app = create_app()
    if processes > 1 and not get_db(app).is_postgres:
        raise click.UsageError("several worker processes share the job table on PostgreSQL only "
                               "(SQLite has one writer); set DATABASE_URL")
    children = [multiprocessing.get_context("spawn").Process(target=_run_worker, daemon=True)
                for _ in range(processes - 1)]
    for child in children:
        child.start()
    try:
        _run_worker(app)
    finally:
        for child in children:
            child.terminate()
            child.join(10)


def _run_worker(app=None):
    """One worker process: its job loops until it is stopped."""
    if app is None:  # a child process: configure logging and the app as the parent did
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("spiff").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        app = create_app()
    scheduler = _scheduler(app, background=False)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    scheduler.start()


@main.command()
@click.option("--type", "appeal_type", required=True, type=click.Choice(["consultation", "complaint", "suggestion", "help"]))
@click.option("--accepted-at", required=True, help="ISO time with offset, e.g. 2026-03-02T10:00+08:00")
@click.option("--dispatched-at", help="defaults to the acceptance time")
@click.option("--convenience-list", is_flag=True)
@click.option("--urgent", is_flag=True)
def deadline(appeal_type, accepted_at, dispatched_at, convenience_list, urgent):
    """Print every deadline of an appeal as JSON (time-limit table + statutory calendar)."""
    accepted = _aware(accepted_at, "--accepted-at")
    dispatched = _aware(dispatched_at, "--dispatched-at") if dispatched_at else None
    limits = time_limits.evaluate_table(appeal_type, convenience_list, urgent)
    due = time_limits.all_deadlines(_calendar(), limits, accepted, dispatched)
    click.echo(json.dumps({
        "type": appeal_type, "accepted_at": accepted.isoformat(), "convenience_list": convenience_list,
        "urgent": urgent, "limits": limits, "deadlines": {k: v.at.isoformat() for k, v in due.items()},
        "provisional": sorted(k for k, v in due.items() if v.provisional)}, ensure_ascii=False, indent=2))


@main.group("calendar")
def calendar_group():
    """The working-day calendar: show a month, load a year's schedule, override a day."""


@calendar_group.command("show")
@click.argument("month")
def calendar_show(month):
    """Print a month (YYYY-MM): 班 working, 休 day off, 调 make-up working day, ? unpublished year."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as err:
        raise click.BadParameter("give the month as YYYY-MM", param_hint="MONTH") from err
    cal = _calendar()
    click.echo(f"{first:%Y-%m}" + ("" if cal.is_published(first.year) else
                                   "  （该年节假日安排未发布，按周一至周五扣除《全国年节及纪念日放假办法》规定的法定节假日临时计算）"))
    click.echo(" ".join(f"{d:>4}" for d in "一二三四五六日"))
    cells = ["    "] * first.weekday()
    day = first
    while day.month == first.month:
        working, known = cal.day_status(day)
        mark = "?" if not known else ("调" if working and day.weekday() >= 5 else "班" if working else "休")
        cells.append(f"{day.day:>2}{mark}")
        day += timedelta(days=1)
    for i in range(0, len(cells), 7):
        click.echo(" ".join(f"{c:>4}" for c in cells[i:i + 7]))


@calendar_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", default="cli")
def calendar_load(file, by):
    """Load a year's holiday schedule (YAML) and recompute the deadlines it affects."""
    db = get_db(create_app())
    with open(file, encoding="utf-8") as fh:
        text = fh.read()
    try:
        summary = calendar_changes.load_year(db, text, _cli_actor(by))
    except InvalidInput as err:
        raise click.ClickException(f"{err}: {json.dumps(err.fields, ensure_ascii=False)}") from err
    click.echo(f"loaded {summary['year']}: {summary['days']} days; recomputed {summary['recomputed_appeals']} appeals")


@calendar_group.command("set")
@click.argument("day")
@click.option("--off/--on", "off", required=True, help="a day off, or a working day")
@click.option("--name", required=True, help="why, e.g. 台风停工 (kept in history)")
@click.option("--by", default="cli")
def calendar_set(day, off, name, by):
    """Override one day (a local holiday, a typhoon day off) and recompute what it affects."""
    db = get_db(create_app())
    try:
        when = date.fromisoformat(day)
    except ValueError as err:
        raise click.BadParameter("give the day as YYYY-MM-DD", param_hint="DAY") from err
    try:
        moved = calendar_changes.override_day(db, when, not off, name, _cli_actor(by))
    except InvalidInput as err:
        raise click.ClickException(f"{err}: {json.dumps(err.fields, ensure_ascii=False)}") from err
    click.echo(f"{when}: {'day off' if off else 'working day'}; recomputed {moved} appeals")


@main.group("audit")
def audit_group():
    """The tamper-evident history: every row is sealed, chained to the one before it."""


@audit_group.command("verify")
def audit_verify():
    """Check every history row's seal, oldest first; exit 1 naming the first row changed,
    deleted before or inserted out of place, exit 0 when the chain is intact."""
    verdict = history.verify(get_db(create_app()))
    click.echo(verdict.message())
    raise SystemExit(0 if verdict.intact else 1)


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_database(file):
    """Write a consistent backup of the database to FILE, a new file (SQLite: online backup;
    PostgreSQL: pg_dump in custom format, from PATH)."""
    db = get_db(create_app())
    try:
        path = backup.create(db, file)
    except backup.BackupFailed as err:
        raise click.ClickException(f"备份失败 / backup failed: {err}") from err
    click.echo(f"已备份 / backed up {_safe_url(db.url)} to {path} ({path.stat().st_size} bytes)")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore_database(file):
    """Restore a backup made by `hotline backup` into the database, which must be empty
    (SQLite: backup API; PostgreSQL: pg_restore, from PATH). Run `hotline audit verify` after."""
    db = get_db(create_app())
    try:
        backup.restore(db, file)
    except backup.BackupFailed as err:
        raise click.ClickException(f"恢复失败 / restore failed: {err}") from err
    click.echo(f"已恢复 / restored {file} into {_safe_url(db.url)}")


@main.group("open311")
def open311_group():
    """Open311 GeoReport v2 at /open311/v2/: the client systems that may file appeals."""


@open311_group.group("key")
def open311_key():
    """API keys of client systems: create (printed once), list, revoke."""


@open311_key.command("create")
@click.argument("name")
@click.option("--by", default="cli", help="who issues it (kept in history)")
def open311_key_create(name, by):
    """Issue an API key to the client system NAME and print it: it is shown this once (only its
    digest is kept). The key alone goes to stdout, so `KEY=$(hotline open311 key create 城市App)` works."""
    try:
        client, key = open311_clients.create(get_db(create_app()), name, _cli_actor(by))
    except InvalidInput as err:
        raise click.ClickException(f"{err}: {json.dumps(err.fields, ensure_ascii=False)}") from err
    click.echo(f"Open311 客户端系统 #{client.id} {client.name}：密钥只显示这一次 / the key is shown this once", err=True)
    click.echo(key)


@open311_key.command("list")
def open311_key_list():
    """Every client system: id, name, the key's first characters, issued, revoked."""
    with get_db(create_app()).read() as session:
        rows = open311_clients.listing(session)
    for row in rows:
        c = row["client"]
        click.echo(f"{c.id}\t{c.name}\t{c.key_prefix}…\t{c.created_at.isoformat(timespec='seconds')}\t"
                   f"{'revoked ' + c.revoked_at.isoformat(timespec='seconds') if c.revoked_at else 'active'}")


@open311_key.command("revoke")
@click.argument("name")
@click.option("--by", default="cli", help="who revokes it (kept in history)")
def open311_key_revoke(name, by):
    """Revoke the working key of the client system NAME: it stops working at once."""
    db = get_db(create_app())
    try:
        with db.read() as session:
            client = open311_clients.active_named(session, name)
        open311_clients.revoke(db, client.id, _cli_actor(by))
    except NotFound as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"revoked: #{client.id} {client.name}")


def _cli_actor(by: str):
    """Who changes the calendar from the command line: a name for history, no user account."""
    return SimpleNamespace(id=None, username=by[:50], role=None, unit_id=None)


def _calendar():
    """The calendar in force: with the database's loaded years and overrides when there is one."""
    db = get_db(create_app())
    try:
        with db.read() as session:
            return store.build(session)
    except DBAPIError:  # no database yet: files and chinese_calendar only
        return store.build(None)


def _aware(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(f"not an ISO time: {value}", param_hint=option) from err
    if parsed.tzinfo is None:
        raise click.BadParameter("give a UTC offset, e.g. +08:00", param_hint=option)
    return parsed


def _scheduler(app, background: bool):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    db, sender = get_db(app), outbox.sender_from_config(app.config)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    # timers falling due together (17:30 on a working day) fire in parallel on PostgreSQL;
    # SQLite has one writer, so one loop
    loops = int(app.config["WORKER_THREADS"]) if db.is_postgres else 1
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Shanghai")
    for n in range(loops):
        scheduler.add_job(_reported("timers fired", jobs.run_due), "interval", seconds=1,
                          args=[db, f"{owner}:{n}"], id=f"timers-{n}", max_instances=1, coalesce=True)
    # renews the short locks of claimed timers while this process lives; a killed worker's lapse
    scheduler.add_job(jobs.heartbeat, "interval", seconds=jobs.BEAT_SECONDS, args=[db], id="timers-heartbeat",
                      max_instances=1, coalesce=True)
    scheduler.add_job(_reported("notifications sent", outbox.deliver_pending), "interval", seconds=1,
                      args=[db, sender], id="outbox", max_instances=1, coalesce=True)
    scheduler.add_job(_reported("instances migrated", migration.run_batches), "interval", seconds=5,
                      args=[db, owner], id="migration-batches", max_instances=1, coalesce=True)  # "migrate all eligible"
    scheduler.add_job(_reported("appellants anonymised", privacy.anonymise_expired), "interval", hours=1,
                      args=[db, int(app.config["RETENTION_DAYS"])],
                      id="retention", max_instances=1, coalesce=True)  # PIPL: identities kept no longer than needed
    return scheduler


def _reported(what: str, job):
    """`job` as the scheduler runs it: one log line when a run did something (its count)."""
    def run(*args):
        started = time.perf_counter()
        done = job(*args)
        if done:
            log.info("%s: %d in %.2f s", what, done, time.perf_counter() - started)
        return done
    return functools.wraps(job)(run)


def _safe_url(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url
