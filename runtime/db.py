"""Database connection and the unit of work.

`Database.transaction()` is the only place a commit happens: every engine call that changes
state opens one, does all its work (instance, task rows, history, outbox) and commits once.
`Database.read()` is for queries: on SQLite it starts a deferred transaction, so readers
never wait for (or hold) the write lock that writers take up front.
"""
from contextlib import contextmanager
from datetime import UTC

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


UNDO = "runtime.undo"


def on_rollback(session, undo) -> None:
    """Run `undo()` if this unit of work rolls back (Database.transaction)."""
    session.info.setdefault(UNDO, []).append(undo)


class UtcDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend (SQLite keeps none): stored as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; all stored times are timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Database:
    """Engine plus session factory for one DATABASE_URL."""

    def __init__(self, url: str, echo: bool = False):
        self.url = url
        kwargs = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20,
                          # psycopg prepares repeated statements; PostgreSQL's generic plan for a
                          # prepared list query ignores how selective its filters are (10x slower
                          # at a million appeals, bench/monitor.py), so plan each execution.
                          connect_args={"options": "-c plan_cache_mode=force_custom_plan"})
        self.engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _configure_sqlite(self.engine)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self.ReadSession = sessionmaker(self.engine.execution_options(read_only=True), expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self):
        """One unit of work: commit on success, roll back on any error. Work done outside the
        database (a file written) registers its undo with `on_rollback`, run after a rollback."""
        with self.Session() as session:
            try:
                with session.begin():
                    yield session
            except BaseException:
                for undo in reversed(session.info.pop(UNDO, [])):
                    undo()
                raise

    @contextmanager
    def read(self):
        """A session for queries only; nothing it does is committed."""
        with self.ReadSession() as session:  # closing detaches objects without expiring them
            yield session

    def dispose(self):
        self.engine.dispose()


def _configure_sqlite(engine):
    """WAL for concurrent readers, FKs on, and BEGIN IMMEDIATE for writers so that they queue
    instead of failing halfway (pysqlite would otherwise start transactions lazily); readers
    begin deferred and never take the write lock."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")
