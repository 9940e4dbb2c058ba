"""Monitor instance-list benchmark on PostgreSQL at a million appeals.

Fills the database with N appeals (default 1,000,000) by INSERT ... SELECT generate_series
(numbered from 100001 in each day's sequence, apart from the demo's), with
a realistic spread: 2 years of acceptance times, ~84 % archived and the rest in every open
status (closed ones with `closed_at`, as a finished process leaves them), four appeal types,
twelve lead units, one process instance per appeal (running, suspended, completed, terminated;
its business_key the appeal's id) and one open user task per open appeal (some overdue, some
due today). Then it times `hotline.monitor.list_instances` (the page's whole query work: rows,
capped count, open tasks of the page) for typical filter combinations at pages 1, 2 and 50
(keyset: page 50 follows the cursor of page 49), and prints p50/p95 per query.

In the same run, two baselines on the same data:
  OFFSET     the same rows by LIMIT/OFFSET with an exact count (what a naive list does)
  no index   keyset paging with the monitor's indexes (migration 0005) dropped

    createdb -h 127.0.0.1 -U postgres helper_c_bench
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/helper_c_bench .venv/bin/python bench/monitor.py

**The database's public schema is DROPPED and recreated first**: give it a database of its own.
"""
import json
import sys
import time
from datetime import timedelta

from fresh import fresh_database, large_postgres_run, timed
from sqlalchemy import func, select, text

from hotline import monitor
from hotline.models import Appeal, OrganizerUnit
from runtime import clock
from runtime.db import Database
from runtime.models import ProcessInstance, UserTask

OPEN = ["assessing", "dispatching", "signing", "handling", "handling", "handling", "extension_pending", "reviewing",
        "replying", "verifying"]
MONITOR_INDEXES = ["ix_appeal_accepted_id", "ix_appeal_status_accepted", "ix_appeal_unit_accepted",
                   "ix_appeal_type_accepted", "ix_user_task_open_due"]

FILL = """
INSERT INTO appeal (number, appeal_type, channel, status, title, content, region_id, urgent, convenience_list,
    confidential, emergency, lead_unit_id, accepted_at, closed_at, extension_days, rehandle_count, return_count,
    updated_at, deadlines_provisional)
SELECT 'FJ' || to_char(acc, 'YYYYMMDD') || '-' || lpad((100000 + row_number() OVER (PARTITION BY acc::date
                                                          ORDER BY g))::text, 6, '0'),
    (ARRAY['complaint','complaint','complaint','consultation','consultation','suggestion','help'])[1 + g % 7],
    (ARRAY['phone','phone','phone','web','wechat','app'])[1 + g % 6],
    st, (ARRAY['夜间施工噪音扰民','小区路灯损坏','占道经营','供暖不热','公交站牌缺失','垃圾清运不及时',
               '楼道堆物','油烟扰民','物业服务差','违章搭建','井盖缺失','停车难','水压不足','广场舞噪音',
               '树木遮挡','宠物扰民','外卖电动车乱停','商铺霸王条款','医保报销咨询','社保转移咨询'])[1 + (g * 7) % 20]
        || CASE WHEN g % 1000 = 0 THEN '（稀有词' || g || '）' ELSE '' END,
    '市民反映的具体情况', NULL, g % 50 = 0, false, false, false,
    CASE WHEN st IN ('assessing', 'dispatching') THEN NULL ELSE :unit0 + (g * 13) % :units END,
    acc, CASE WHEN st IN ('archived', 'not_accepted', 'terminated') THEN acc + interval '5 days' END,
    0, 0, 0, acc, false
FROM (SELECT g, now() - (random() * interval '730 days') AS acc,
             CASE WHEN g % 100 < 84 THEN 'archived' WHEN g % 100 < 86 THEN 'not_accepted'
                  WHEN g % 100 < 87 THEN 'terminated' ELSE (ARRAY[{open}])[1 + g % 10] END AS st
      FROM generate_series(1, :n) AS g) AS src
"""
# the title index (hotline.title_search) as the ORM keeps it: two-character pieces of the
# title with punctuation and spaces removed (the fill's titles have no other normalisation to do)
GRAMS = """
INSERT INTO appeal_gram (gram, appeal_id)
SELECT DISTINCT substr(norm, i, 2), id
FROM (SELECT id, lower(regexp_replace(title, '[[:punct:][:space:]（）]', '', 'g')) AS norm FROM appeal) AS a,
     generate_series(1, length(norm) - 1) AS i
"""
INSTANCES = """
INSERT INTO process_instance (deployment_id, process_key, business_key, status, state, serializer_version, version,
    started_at, updated_at, ended_at)
SELECT :deployment, 'appeal_handling', id, CASE WHEN status IN ('archived', 'not_accepted') THEN 'completed'
                             WHEN status = 'terminated' THEN 'terminated'
                             WHEN id % 97 = 0 THEN 'suspended' ELSE 'running' END,
       '{}', '1', 1, accepted_at, accepted_at,
       CASE WHEN status IN ('archived', 'not_accepted', 'terminated') THEN accepted_at + interval '5 days' END
FROM appeal
"""
TASKS = """
INSERT INTO user_task (id, instance_id, business_key, bpmn_id, name, candidate_roles, unit_id, due_at, created_at, state)
SELECT md5(a.id::text), p.id, a.id, 'ut_' || a.status, a.status, 'organizer_staff', a.lead_unit_id,
       now() + ((a.id % 40) - 8) * interval '1 day' + (a.id % 24) * interval '1 hour', a.accepted_at, 'open'
FROM appeal a JOIN process_instance p ON p.business_key = a.id
WHERE a.status NOT IN ('archived', 'not_accepted', 'terminated')
"""


def fill(db: Database, n: int) -> None:
    deployment = fresh_database(db)
    with db.transaction() as session:
        unit0, units = session.execute(select(func.min(OrganizerUnit.id), func.count()).select_from(OrganizerUnit)).one()
        deployment_id = deployment.id
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(FILL.format(open=",".join(f"'{s}'" for s in OPEN))), {"n": n, "unit0": unit0, "units": units})
        conn.execute(text("DELETE FROM appeal_gram"))  # the demo's, written again with the rest
        conn.execute(text(GRAMS))
        conn.execute(text(INSTANCES), {"deployment": deployment_id})
        conn.execute(text(TASKS))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"filled {n:,} appeals in {time.perf_counter() - started:.0f} s", flush=True)


def cases(session) -> dict[str, monitor.InstanceFilter]:
    now = clock.now()
    unit = session.scalar(select(Appeal.lead_unit_id).where(Appeal.lead_unit_id.is_not(None)).limit(1))
    return {
        "all": monitor.InstanceFilter(),
        "status=handling": monitor.InstanceFilter(status="handling"),
        "type=help": monitor.InstanceFilter(appeal_type="help"),
        "unit": monitor.InstanceFilter(unit_id=unit),
        "unit+status+type": monitor.InstanceFilter(unit_id=unit, status="handling", appeal_type="complaint"),
        "overdue": monitor.InstanceFilter(deadline="overdue"),
        "due_today": monitor.InstanceFilter(deadline="due_today"),
        "state=suspended": monitor.InstanceFilter(state="suspended"),
        "last 30 days": monitor.InstanceFilter(accepted_from=now - timedelta(days=30)),
        "text common": monitor.InstanceFilter(text="噪音"),
        "text rare": monitor.InstanceFilter(text="稀有词5000）"),
        "number": monitor.InstanceFilter(text=session.scalar(select(Appeal.number).where(Appeal.id == 4242))),
    }


def offset_page(session, f, now, page: int, limit: int = 50):
    """The naive list: LIMIT/OFFSET and an exact count."""
    base = (select(Appeal.id, Appeal.number).join(ProcessInstance, ProcessInstance.business_key == Appeal.id)
            .where(*monitor._conditions(session, f, now)))
    rows = session.execute(base.order_by(Appeal.accepted_at.desc(), Appeal.id.desc())
                           .limit(limit).offset((page - 1) * limit)).all()
    session.scalar(select(func.count()).select_from(base.subquery()))
    return rows


def run(db: Database, label: str, repeat: int, offset: bool = False, pages=(1, 2, 50)) -> dict:
    results = {}
    now = clock.now()
    with db.read() as session:
        for name, f in cases(session).items():
            cursor, cursors = None, {1: None}
            if not offset:  # walk to page 50 once to get its cursor (keyset: no way to jump)
                for page in range(2, max(pages) + 1):
                    cursor = monitor.list_instances(session, f, now, after=cursor).next_cursor
                    if cursor is None:
                        break
                    cursors[page] = cursor
            for page in pages:
                if offset:
                    p50, p95, _ = timed(lambda f=f, page=page: offset_page(session, f, now, page), repeat)
                elif page in cursors:
                    p50, p95, _ = timed(lambda f=f, after=cursors[page]: monitor.list_instances(session, f, now, after=after),
                                     repeat)
                else:
                    continue  # fewer pages than that
                results[f"{name} p{page}"] = (p50, p95)
                print(f"{label:9} {name:18} page {page:>2}  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms", flush=True)
    return results


def main() -> int:
    run_args = large_postgres_run(__doc__)
    if run_args is None:
        return 2
    args, db = run_args
    if not args.no_fill:
        fill(db, args.n)
    keyset = run(db, "keyset", args.repeat)
    offsets = run(db, "OFFSET", args.baseline_repeat, offset=True)
    with db.engine.begin() as conn:
        for name in MONITOR_INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    try:
        bare = run(db, "no index", args.baseline_repeat)
    finally:  # put the indexes back as migration 0005 made them
        with db.engine.begin() as conn:
            for table in (Appeal.__table__, UserTask.__table__):
                for index in table.indexes:
                    if index.name in MONITOR_INDEXES:
                        index.create(conn)
    worst = max(p95 for p50, p95 in keyset.values())
    summary = {"n": args.n, "keyset_worst_p95_ms": round(worst, 1),
               "keyset_p95_ms": {k: round(v[1], 1) for k, v in keyset.items()},
               "offset_over_keyset_p95": {k: round(offsets[k][1] / keyset[k][1], 1) for k in offsets if k in keyset},
               "noindex_over_keyset_p95": {k: round(bare[k][1] / keyset[k][1], 1) for k in bare if k in keyset}}
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
