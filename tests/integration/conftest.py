"""Fixtures of the integration tests that need a database beside the test database."""
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from runtime.db import Database
from web import cli, get_db


@pytest.fixture
def empty_database(db, tmp_path):
    """A database of its own beside the test database (a file, or a PostgreSQL database)."""
    if not db.is_postgres:
        other = Database(f"sqlite:///{tmp_path / 'other.db'}")
        yield other
        other.dispose()
        return
    name = f"other_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(db.url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    other = Database(make_url(db.url).set(database=name).render_as_string(hide_password=False))
    yield other
    other.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def hotline(monkeypatch):
    """Run the `hotline` command on a database: `hotline(db, "audit", "verify")` gives (exit
    code, output). The apps it builds are disposed after, so no connection outlives the call
    (on SQLite one would break the next module's copy of the template)."""
    made, create_app = [], cli.create_app

    def run(db, *args) -> tuple[int, str]:
        monkeypatch.setenv("DATABASE_URL", db.url)
        monkeypatch.setattr(cli, "create_app", lambda: made.append(create_app()) or made[-1])
        try:
            result = CliRunner().invoke(cli.main, list(args))
        finally:
            for app in made:
                get_db(app).dispose()
        return result.exit_code, result.output
    return run
