"""Unit evaluation benchmark on PostgreSQL at a million appeals (targets: a month's figures in
under 2 s; a centre's month report p95 within 1.5 s, the province's within 3 s).

Fills the database with N appeals (default 1,000,000) by INSERT ... SELECT generate_series
(numbered BJ..., apart from the demo month's FJ...): two years of acceptance times (~42,000 a
month), the demo's lead units (spread by g × 1009 modulo their number: 1009 is prime, so every
unit gets its share however many units there are), each appeal held by the centre whose region
holds its lead unit (`centre_id`, as hotline.centres.of_unit decides; the demo's centres: the
province, two cities, three counties), a first-contact limit on each and a first-contact
overdue record for ~3 %, ~90 % archived (closed: `closed_at` set, which is what the evaluation
counts as closed), the rest still in handling; one lead AppealUnit row each plus an inactive one of another
unit for ~4 % (returned, re-dispatched); sign-for overdue records for ~6 %, handling overdue for
~8 %; evaluations 60 % satisfied, 20 % basically satisfied, 10 % dissatisfied, 10 % none; 5 %
re-handled. History: the rows a real happy path through the runtime leaves, in its order (up to 22
for an archived appeal: registration, task completions, the `milestone_reached` rows its steps
declare, reply, evaluation, archiving; the first 10 for one still in handling), plus an
extension decision for ~5 %. The evaluation reads only the `milestone_reached` rows with detail
{"milestone": "appellant_contacted"} (written for 96 % of the archived: the reply reached the
appellant) and the extension decisions; it has to pass over the others, five of them milestone
rows too. Appeals are stored in acceptance order (ids follow acceptance, as in production), and
each appeal's history rows are spread over the table as in real life (written hours to days
apart, among other appeals' rows), not stored side by side.

Then it times, p50 / p95 over --repeat runs:
  month      hotline.evaluation_report.unit_counts for the last complete month (the figures)
  report     hotline.evaluation_report.unit_report for that month (figures, ranking, 12-month
             trend, type breakdown: everything the page shows)
  province   the same, named: the province's month (every appeal; target p95 ≤ 3 s)
  centre     unit_report(centre_id=...) for the largest city centre with its counties (the
             appeals held in its subtree; target p95 ≤ 1.5 s); the plan of its main query is
             checked to read an index (no sequential scan of appeal)
and, in the same run, a baseline on a ~100,000-appeal window: the same counts computed in Python
over fetched rows (evaluation_report.facts + evaluation.tally) against unit_counts on that window,
printed as a ratio. Both must agree.

    createdb -h 127.0.0.1 -U postgres helper_g_bench
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/helper_g_bench .venv/bin/python bench/evaluation.py

**The database's public schema is DROPPED and recreated first**: give it a database of its own.
"""
import json
import sys
import time
from datetime import timedelta

from fresh import fresh_database, large_postgres_run, timed
from sqlalchemy import func, select, text

from hotline import centres as centre_tree
from hotline import evaluation as ev
from hotline import evaluation_report as reports
from hotline.models import Appeal, Centre, OrganizerUnit
from runtime import clock
from runtime.db import Database

APPEALS = """
INSERT INTO appeal (number, appeal_type, channel, status, title, content, urgent, convenience_list, confidential,
    emergency, lead_unit_id, centre_id, origin_centre_id, accepted_at, dispatched_at, closed_at, handling_due_at,
    first_contact_due_at, extension_days, rehandle_count, return_count, satisfaction, resolved, updated_at,
    deadlines_provisional)
SELECT 'BJ' || to_char(acc, 'YYYYMMDD') || '-' || lpad((g % 1000000)::text, 6, '0'),
    (ARRAY['complaint','complaint','complaint','consultation','consultation','suggestion','help'])[1 + g % 7],
    'phone', st, '诉求' || g, '市民反映的具体情况', false, false, false, false,
    :unit0 + (g * 1009) % :units, (CAST(:centres AS integer[]))[1 + (g * 1009) % :units],
    (CAST(:centres AS integer[]))[1 + (g * 1009) % :units], acc, acc + interval '3 hours',
    CASE WHEN st = 'archived' THEN acc + interval '9 days' END, acc + interval '14 days', acc + interval '1 day', 0,
    CASE WHEN g % 20 = 0 THEN 1 ELSE 0 END, 0,
    CASE WHEN st <> 'archived' THEN NULL WHEN r < 0.6 THEN 'satisfied' WHEN r < 0.8 THEN 'basically_satisfied'
         WHEN r < 0.9 THEN 'dissatisfied' ELSE 'no_evaluation' END,
    CASE WHEN st <> 'archived' OR r >= 0.9 THEN NULL ELSE r < 0.72 OR (r >= 0.8 AND r < 0.83) END,
    acc, false
FROM (SELECT g, now() - (random() * interval '730 days') AS acc, random() AS r,
             CASE WHEN g % 10 = 0 THEN 'handling' ELSE 'archived' END AS st
      FROM generate_series(1, :n) AS g) AS src
ORDER BY acc
"""
LEADS = """
INSERT INTO appeal_unit (appeal_id, unit_id, role, assigned_at, active)
SELECT id, lead_unit_id, 'lead', dispatched_at, true FROM appeal WHERE number LIKE 'BJ%'
UNION ALL
SELECT id, :unit0 + (lead_unit_id - :unit0 + 5) % :units, 'lead', accepted_at, false FROM appeal
WHERE number LIKE 'BJ%' AND id % 25 = 3
"""
OVERDUE = """
INSERT INTO overdue_record (appeal_id, stage, unit_id, due_at, recorded_at)
SELECT id, 'sign_for', lead_unit_id, dispatched_at + interval '1 day', dispatched_at + interval '1 day'
FROM appeal WHERE number LIKE 'BJ%' AND id % 17 = 1
UNION ALL
SELECT id, 'handling', lead_unit_id, handling_due_at, handling_due_at FROM appeal WHERE number LIKE 'BJ%' AND id % 12 = 5
UNION ALL
SELECT id, 'first_contact', lead_unit_id, first_contact_due_at, first_contact_due_at FROM appeal
WHERE number LIKE 'BJ%' AND id % 29 = 2
"""
# The history rows a real happy path leaves (bench/lifecycle.py's walk through the runtime), in
# its order: (action, task_bpmn_id, detail, which appeals): EVERY appeal, or only the CLOSED ones
# (archived; an appeal still in handling has not got that far). The evaluation reads
# the `appellant_contacted` milestone (not written when the reply did not reach the appellant,
# every 25th appeal) and the extension decision; the rest are the rows it has to pass over.
EVERY, CLOSED = "true", "closed_at IS NOT NULL"
REACHED = "id % 25 <> 0"
PASSES = [
    ("appeal_registered", None, "json_build_object('number', number, 'channel', 'phone', 'type', appeal_type)", EVERY),
    ("process_started", None, "json_build_object('deployment_version', 1)", EVERY),
    ("task_completed", "ut_assess", "json_build_object('assessment', 'dispatch')", EVERY),
    ("milestone_reached", "ut_assess", "json_build_object('milestone', 'assessed')", EVERY),
    ("dispatched", None, "json_build_object('lead_unit_id', lead_unit_id, 'co_unit_ids', json_build_array())", EVERY),
    ("task_completed", "ut_dispatch",
     "json_build_object('lead_unit_id', lead_unit_id, 'co_unit_ids', json_build_array())", EVERY),
    ("milestone_reached", "ut_dispatch", "json_build_object('milestone', 'dispatched')", EVERY),
    ("task_completed", "ut_sign_for", "json_build_object('sign_decision', 'sign')", EVERY),
    ("milestone_reached", "ut_sign_for", "json_build_object('milestone', 'signed_for')", EVERY),
    ("task_completed", "ut_assign_handler", "json_build_object('department', '执法科', 'handler_id', 1)", EVERY),
    ("extension_decided", None, "json_build_object('consented', true, 'approved', id % 40 = 7, 'days', 3)",
     "id % 20 = 7"),  # the ~5 % that applied for one
    ("task_completed", "ut_record_result",
     "json_build_object('result_action', 'submit_result', 'result', '已处理', 'resolved', true)", CLOSED),
    ("task_completed", "ut_leader_review", "json_build_object('review_decision', 'approve')", CLOSED),
    ("replied", None, "NULL", CLOSED),
    ("evaluation_link_sent", None, "json_build_object('expires_at', closed_at)", CLOSED),
    ("task_completed", "ut_reply",
     f"json_build_object('reply_method', 'phone', 'appellant_reached', {REACHED}, 'reply_content', '已答复')", CLOSED),
    ("milestone_reached", "ut_reply", "json_build_object('milestone', 'appellant_contacted')",
     f"{CLOSED} AND {REACHED}"),
    ("milestone_reached", "ut_reply", "json_build_object('milestone', 'replied')", CLOSED),
    ("evaluated", None, "json_build_object('evaluation', satisfaction, 'resolved', resolved)", CLOSED),
    ("archived", None, "NULL", CLOSED),
    ("process_completed", None, "NULL", CLOSED),
    ("task_completed", "ut_return_visit", "json_build_object('evaluation', satisfaction, 'resolved', resolved)",
     CLOSED),
    ("milestone_reached", "ut_return_visit", "json_build_object('milestone', 'appellant_evaluated')", CLOSED),
]
# One pass per row over all appeals, so an appeal's rows land in far-apart parts of the table.
HISTORY = """
INSERT INTO history_event (business_key, at, action, task_bpmn_id, detail)
SELECT id, accepted_at + :k * interval '10 hours', :action, :bpmn, {detail}
FROM appeal
WHERE number LIKE 'BJ%' AND {which}
"""


def history_pass(k: int) -> tuple[str, dict]:
    action, bpmn_id, detail, which = PASSES[k]
    return HISTORY.format(detail=detail, which=which), {"k": k, "action": action, "bpmn": bpmn_id}


def fill(db: Database, n: int) -> None:
    fresh_database(db)
    with db.transaction() as session:
        unit0, units = session.execute(select(func.min(OrganizerUnit.id), func.count()).select_from(OrganizerUnit)).one()
        # the centre holding each unit's appeals, by unit id (ids are unit0 .. unit0 + units - 1)
        centres = [centre_tree.of_unit(session, session.get(OrganizerUnit, unit0 + i)).id for i in range(units)]
    started = time.perf_counter()
    with db.engine.begin() as conn:
        # generated rows reference rows just generated: skip the per-row foreign-key triggers
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(APPEALS), {"n": n, "unit0": unit0, "units": units, "centres": centres})
        conn.execute(text(LEADS), {"unit0": unit0, "units": units})
        conn.execute(text(OVERDUE))
    for k in range(len(PASSES)):
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            sql, params = history_pass(k)
            conn.execute(text(sql), params)
        print(f"history pass {k + 1}/{len(PASSES)}", flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        rows = conn.execute(text("SELECT count(*) FROM history_event")).scalar()
    print(f"filled {n:,} appeals and {rows:,} history rows in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> int:
    run_args = large_postgres_run(__doc__)
    if run_args is None:
        return 2
    args, db = run_args
    if not args.no_fill:
        fill(db, args.n)
    config = ev.load_config()
    period = ev.default_period(clock.now(), config.window_start_day)
    start, end = ev.window(period, config.window_start_day)
    with db.read() as session:
        month = timed(lambda: reports.unit_counts(session, start, end), args.repeat)
        volume = sum(c.handled for c in month[2].values())
        print(f"month {period.key}: {volume:,} appeals  figures  p50 {month[0]:7.1f} ms  p95 {month[1]:7.1f} ms",
              flush=True)
        page = timed(lambda: reports.unit_report(session, period, config), args.repeat)
        print(f"month {period.key}: whole report (ranking, 12-month trend, types)  p50 {page[0]:7.1f} ms  "
              f"p95 {page[1]:7.1f} ms", flush=True)
        province = timed(lambda: reports.unit_report(session, period, config, centre_id=None), args.repeat)
        print(f"province month {period.key}: report  p50 {province[0]:7.1f} ms  p95 {province[1]:7.1f} ms",
              flush=True)
        centre, held = largest_city(session, start, end)
        subtree = reports.centre_subtree(session, centre.id)
        local = timed(lambda: reports.unit_report(session, period, config, centre_id=centre.id), args.repeat)
        print(f"centre {centre.code} month {period.key} ({held:,} appeals in its subtree): report  "
              f"p50 {local[0]:7.1f} ms  p95 {local[1]:7.1f} ms", flush=True)
        plan = explain(session, start, end, subtree)
        print("centre month plan:\n  " + "\n  ".join(plan), flush=True)
        indexed = not any("Seq Scan on appeal" in line for line in plan)
        # ~100,000 appeals: as many days back from the month's end as hold that many at this density
        sub_start = end - timedelta(days=round(100_000 / max(volume, 1) * (end - start).days))
        sql = timed(lambda: reports.unit_counts(session, sub_start, end), args.baseline_repeat)
        python = timed(lambda: ev.tally(reports.facts(session, sub_start, end)), args.baseline_repeat)
        subset = sum(c.handled for c in sql[2].values())
        assert sql[2] == python[2], "SQL and Python disagree"
        print(f"baseline on {subset:,} appeals: SQL p50 {sql[0]:7.1f} ms, Python over fetched rows "
              f"p50 {python[0]:7.1f} ms  ->  {python[0] / sql[0]:.1f}x", flush=True)
    summary = {"n": args.n, "month": period.key, "month_appeals": volume,
               "figures_p50_ms": round(month[0], 1), "figures_p95_ms": round(month[1], 1),
               "report_p50_ms": round(page[0], 1), "report_p95_ms": round(page[1], 1),
               "baseline_appeals": subset, "baseline_sql_p50_ms": round(sql[0], 1),
               "baseline_python_p50_ms": round(python[0], 1), "python_over_sql": round(python[0] / sql[0], 1),
               "province_p50_ms": round(province[0], 1), "province_p95_ms": round(province[1], 1),
               "centre": centre.code, "centre_appeals": held,
               "centre_p50_ms": round(local[0], 1), "centre_p95_ms": round(local[1], 1), "centre_indexed": indexed,
               "under_2s": month[1] < 2000, "centre_within_1_5s": local[1] <= 1500,
               "province_within_3s": province[1] <= 3000}
    print(json.dumps(summary))
    met = month[1] < 2000 and local[1] <= 1500 and province[1] <= 3000 and indexed
    return 0 if met else 1


def largest_city(session, start, end) -> tuple:
    """The city centre whose subtree holds the most of the month's appeals, and how many."""
    best = None
    for centre in session.scalars(select(Centre).where(Centre.level == "city")):
        ids = reports.centre_subtree(session, centre.id)
        held = session.scalar(select(func.count()).select_from(Appeal).where(
            Appeal.accepted_at >= start, Appeal.accepted_at < end, Appeal.centre_id.in_(ids)))
        if best is None or held > best[1]:
            best = (centre, held)
    return best


def explain(session, start, end, subtree) -> list[str]:
    """PostgreSQL's plan of the centre month's main grouped query (the handled counts)."""
    query = (select(Appeal.lead_unit_id, Appeal.appeal_type, func.count())
             .where(Appeal.accepted_at >= start, Appeal.accepted_at < end, Appeal.status != "terminated",
                    Appeal.centre_id.in_(subtree), Appeal.lead_unit_id.is_not(None))
             .group_by(Appeal.lead_unit_id, Appeal.appeal_type))
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    return [row[0] for row in session.execute(text(f"EXPLAIN {compiled}"))]


if __name__ == "__main__":
    sys.exit(main())
