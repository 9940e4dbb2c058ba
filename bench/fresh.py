"""The one database set-up every benchmark starts from: wiped (on PostgreSQL the public
schema is dropped), migrated, the diagrams in processes/ deployed, the demo loaded."""
import argparse
import os
import statistics
import time

from sqlalchemy import text

import hotline
from hotline import accounts, demo
from runtime import repository, schema
from runtime.db import Database
from runtime.models import Deployment

hotline.configure()  # the runtime runs the hotline's diagrams, operators and hooks


def fresh_database(db: Database) -> Deployment:
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    schema.upgrade(db)
    accounts.use_fast_hashing()  # passwords are not what is measured
    deployment, _ = repository.deploy_bundle(db, deployed_by="bench")
    demo.load(db)
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
