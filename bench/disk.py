"""Disk per archived appeal on PostgreSQL: N appeals driven through the whole happy path by the
engine (bench/lifecycle.py path A: registered, dispatched, handled, replied, visited, archived),
then VACUUM FULL; printed per appeal: the bytes each table grew by (pg_total_relation_size: rows,
TOAST and indexes), the total, and the stored process state (its JSON as text and as stored,
compressed).

    createdb -h 127.0.0.1 -U postgres bench_disk
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_disk .venv/bin/python bench/disk.py --n 300

**The database's public schema is DROPPED and recreated first.**
"""
import argparse
import json
import os
import sys

from lifecycle import SqlCounter, engine_appeal, happy_path, setup
from sqlalchemy import select, text

from hotline.models import OrganizerUnit, User


def sizes(db) -> dict[str, int]:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM FULL ANALYZE"))  # the space dead row versions held is given back
        rows = conn.execute(text("SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c "
                                 "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE n.nspname = 'public' AND c.relkind = 'r'")).all()
    return dict(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        print("set DATABASE_URL to a PostgreSQL database of its own (its public schema is dropped)")
        return 2
    db = setup(url)
    with db.read() as session:
        people = {u.username: u for u in session.scalars(select(User))}
        lead = session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == "gl_urban"))
    steps = happy_path(lead, people["gl_urban_staff"].id)
    before = sizes(db)
    times = {k: [] for k in ("a_start", "a_complete", "b_start", "b_complete")}
    counter = SqlCounter(db.engine)
    ids = [engine_appeal(db, people, steps, counter, times) for _ in range(args.n)]
    after = sizes(db)
    with db.engine.connect() as conn:
        state_text, state_stored = conn.execute(text(
            "SELECT avg(length(state::text)), avg(pg_column_size(state)) FROM process_instance "
            "WHERE business_key = ANY(:ids) AND status = 'completed'"), {"ids": ids}).one()
    db.dispose()
    grown = {t: (after.get(t, 0) - before.get(t, 0)) / args.n for t in after}
    grown = {t: round(b) for t, b in sorted(grown.items(), key=lambda kv: -kv[1]) if b > 0}
    total = sum(grown.values())
    print(f"\ndisk per archived appeal on postgresql, {args.n} appeals, after VACUUM FULL")
    for table, per in grown.items():
        print(f"  {table:26} {per / 1024:8.1f} KB")
    print(f"  {'total':26} {total / 1024:8.1f} KB")
    print(f"  process state: {float(state_text) / 1024:.1f} KB as JSON text, "
          f"{float(state_stored) / 1024:.1f} KB stored")
    print(json.dumps({"n": args.n, "per_appeal_bytes": total, "tables": grown,
                      "state_text_bytes": round(float(state_text)), "state_stored_bytes": round(float(state_stored))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
