"""Backup and restore of the whole database (issue 12, item 9).

SQLite: sqlite3's online backup API copies a consistent snapshot while the platform runs, and
copies a backup back into an empty database file. PostgreSQL: `pg_dump --format=custom` and
`pg_restore`, found on PATH (Debian: postgresql-client), connected with the DATABASE_URL's
host, port, user and database; its password goes in PGPASSWORD, never on the command line.
A restore only goes into an empty database (no tables), so it never mixes two histories.
"""
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from .errors import EngineError


class BackupFailed(EngineError):
    """The backup or restore could not be made; the message says why."""

    reason = "backup_failed"


def create(db, path) -> Path:
    """Write a backup of `db` to `path` (a new file). Raises BackupFailed."""
    path = Path(path)
    if path.exists():
        raise BackupFailed(f"{path} exists already; give a new file")
    if db.is_postgres:
        _run(db, "pg_dump", "--format=custom", f"--file={path}", _libpq_url(db))
        return path
    raw = db.engine.raw_connection()
    try:
        with sqlite3.connect(path) as target:
            raw.driver_connection.backup(target)
        target.close()
    finally:
        raw.close()
    return path


def restore(db, path) -> None:
    """Restore the backup at `path` into `db`, which must be empty. Raises BackupFailed."""
    path = Path(path)
    if not path.is_file():
        raise BackupFailed(f"no backup file at {path}")
    tables = inspect(db.engine).get_table_names()
    if tables:
        raise BackupFailed(f"the database is not empty ({len(tables)} tables); restore only into an empty one")
    if db.is_postgres:
        # --clean --if-exists: a dump of a database whose public schema was recreated creates it again
        _run(db, "pg_restore", "--no-owner", "--clean", "--if-exists", "--exit-on-error", "--single-transaction",
             f"--dbname={_libpq_url(db)}", str(path))
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as source:
            source.execute("SELECT count(*) FROM sqlite_master")  # "file is not a database" here
            raw = db.engine.raw_connection()
            try:
                source.backup(raw.driver_connection)
            finally:
                raw.close()
        source.close()
    except sqlite3.DatabaseError as err:
        raise BackupFailed(f"{path} is not a SQLite backup: {err}") from err
    db.dispose()


def _run(db, program: str, *args: str) -> None:
    executable = shutil.which(program)
    if executable is None:
        raise BackupFailed(f"{program} not found on PATH; install the PostgreSQL client "
                           "(Debian: apt-get install postgresql-client)")
    url = make_url(db.url)
    env = dict(os.environ, **({"PGPASSWORD": url.password} if url.password else {}))
    done = subprocess.run([executable, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupFailed(f"{program} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _libpq_url(db) -> str:
    """The DATABASE_URL as libpq reads it: no SQLAlchemy driver name, no password."""
    url = make_url(db.url).set(drivername="postgresql", password=None)
    return url.render_as_string(hide_password=False)
