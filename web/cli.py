"""The `hotline` command: init-db, deploy, load-demo, serve, worker, deadline."""
import json
import logging
from datetime import datetime

import click

from engine import deadlines, definitions, demo, migrate, outbox
from engine.errors import InvalidInput

from . import create_app, get_db


@click.group()
def main():
    """Hotline 12345: run a 12345 government service hotline as BPMN processes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # it logs every task state change


@main.command("init-db")
def init_db():
    """Create or upgrade the database schema to the latest migration."""
    db = get_db(create_app())
    migrate.upgrade(db)
    click.echo(f"database at head: {_safe_url(db.url)}")


@main.command()
@click.option("--by", default="cli", help="who deploys (recorded on the deployment)")
def deploy(by):
    """Parse, validate and register the diagrams in processes/ as a new version."""
    db = get_db(create_app())
    files = definitions.read_bundle()
    try:
        with db.transaction() as session:
            deployment, created = definitions.deploy(session, files, deployed_by=by)
            click.echo(f"{deployment.process_key} v{deployment.version} "
                       f"({'deployed' if created else 'unchanged'}; {', '.join(files)})")
    except InvalidInput as err:
        raise click.ClickException(f"{err}: {json.dumps(err.fields, ensure_ascii=False)}") from err


@main.command("load-demo")
def load_demo():
    """Load the demo province, units and users (password: demo12345)."""
    db = get_db(create_app())
    with db.transaction() as session:
        created = demo.load(session)
    click.echo(f"demo data: {created}")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-worker", is_flag=True, help="do not run the job loop in this process")
def serve(host, port, no_worker):
    """Serve the web app; in the embedded default the worker runs in-process too."""
    app = create_app()
    if not no_worker:
        scheduler = _scheduler(app, background=True)
        scheduler.start()
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command()
def worker():
    """Run the job loop alone (one or more next to gunicorn on PostgreSQL)."""
    _scheduler(create_app(), background=False).start()


@main.command()
@click.option("--type", "appeal_type", required=True, type=click.Choice(sorted(deadlines.HANDLING_DAYS)))
@click.option("--accepted-at", required=True, help="ISO time with offset, e.g. 2026-03-02T10:00+08:00")
@click.option("--dispatched-at", help="defaults to the acceptance time")
@click.option("--convenience-list", is_flag=True)
@click.option("--urgent", is_flag=True)
def deadline(appeal_type, accepted_at, dispatched_at, convenience_list, urgent):
    """Print the dispatch, sign-for and handling deadlines as JSON."""
    accepted = _aware(accepted_at, "--accepted-at")
    dispatched = _aware(dispatched_at, "--dispatched-at") if dispatched_at else None
    due = deadlines.all_deadlines(accepted, appeal_type, convenience_list, urgent, dispatched)
    click.echo(json.dumps({
        "type": appeal_type, "accepted_at": accepted.isoformat(), "convenience_list": convenience_list,
        "urgent": urgent, "deadlines": {k: v.at.isoformat() for k, v in due.items()},
        "provisional": sorted(k for k, v in due.items() if v.provisional)}, ensure_ascii=False, indent=2))


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

    db, sender = get_db(app), outbox.LoggingSender()
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Shanghai")
    scheduler.add_job(outbox.deliver_pending, "interval", seconds=1, args=[db, sender],
                      id="outbox", max_instances=1, coalesce=True)
    return scheduler


def _safe_url(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url
