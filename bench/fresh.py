"""The one database set-up every benchmark starts from: wiped (on PostgreSQL the public
schema is dropped), migrated, the diagrams in processes/ deployed, the demo loaded."""
import argparse
import os
import statistics
import time

from sqlalchemy import text

from engine import definitions, demo, migrate, users
from engine.db import Database
from engine.models import Deployment


def fresh_database(db: Database) -> Deployment:
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(db)
    users.use_fast_hashing()  # passwords are not what is measured
    with db.transaction() as session:
        deployment, _ = definitions.deploy(session)
        demo.load(session)
    return deployment


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """(median ms, p95 ms, last result) of `repeat` calls."""
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))], result


def large_postgres_run(doc: str):
    """(args, database) for the benchmarks that fill PostgreSQL with --n appeals; None (having
    said why) when DATABASE_URL is not a PostgreSQL database."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--no-fill", action="store_true", help="reuse the data of the previous run")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        print("set DATABASE_URL to a PostgreSQL database of its own (its public schema is dropped)")
        return None
    return args, Database(url)
