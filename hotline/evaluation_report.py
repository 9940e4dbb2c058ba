"""The evaluation reports (Art. 25, 26, 28) on the database: the counts of hotline.evaluation
aggregated in SQL (GROUP BY with conditional sums, so a month of a million-appeal table is read
once per source, bench/evaluation.py), the trend over the last periods, the breakdown by
appeal type, and the appeals behind any figure (drill-down). Queries only, nothing here writes.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, exists, false, func, not_, or_, select, true

from runtime import milestones
from runtime.errors import InvalidInput, NotFound
from runtime.models import HistoryEvent

from . import evaluation as ev
from .models import Appeal, AppealUnit, OrganizerUnit, OverdueRecord
from .statuses import TERMINATED

TREND_LENGTH = {"month": 12, "quarter": 8, "year": 5}
DRILL_LIMIT = 500
VALID = Appeal.satisfaction.in_(ev.VALID_EVALUATIONS)
# A set, not a per-appeal EXISTS: PostgreSQL hashes the few overdue appeals once instead of probing
# the index for each of a year's appeals (the 12-month trend, bench/evaluation.py). appeal_id is
# never NULL, so NOT IN is safe.
LATE_HANDLING = Appeal.id.in_(select(OverdueRecord.appeal_id).where(OverdueRecord.stage == "handling"))
EXTENDED = exists().where(HistoryEvent.business_key == Appeal.id, HistoryEvent.action == "extension_decided",
                          HistoryEvent.detail["approved"].as_boolean() == true())
CONTACTED_MILESTONE = "appellant_contacted"
REACHED_APPELLANT = and_(HistoryEvent.action == milestones.ACTION,
                         HistoryEvent.detail["milestone"].as_string() == CONTACTED_MILESTONE)
CONTACTED = exists().where(HistoryEvent.business_key == Appeal.id, REACHED_APPELLANT)
VISIT_PROBLEM = and_(HistoryEvent.action == "return_visit_recorded",
                     HistoryEvent.detail["problem_found"].as_boolean() == true())
EXPLAINED_MILESTONE, REJECTED_MILESTONE = "explained_not_solvable", "closure_rejected"  # Art. 20(7), Art. 18


def _reached(name):
    return and_(HistoryEvent.action == milestones.ACTION, HistoryEvent.detail["milestone"].as_string() == name)
CLOSED = Appeal.closed_at.is_not(None)


@dataclass
class Report:
    period: ev.Period
    start: object
    end: object
    config: ev.Config
    rows: list  # UnitRow, ranked first
    lists: dict  # red, black, commended
    total: ev.UnitRow  # every unit together
    ranked: int  # how many units were ranked
    trend: list  # {"period", "volume", "satisfaction_rate", "on_time_rate"}
    categories: list  # {"type", "volume", "satisfaction_rate"}

    @property
    def last_day(self):
        """The window's last day (it ends at midnight after it)."""
        return (self.end - timedelta(days=1)).date()


def _in(start, end):
    return and_(Appeal.accepted_at >= start, Appeal.accepted_at < end, Appeal.status != TERMINATED)


def _sum(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _handled_counts(session, where, group) -> dict:
    """handled .. dissatisfied per `group` value over the period's dispatched appeals."""
    late = LATE_HANDLING
    query = (select(group, func.count(), _sum(CLOSED), _sum(and_(CLOSED, not_(late))), _sum(late),
                    _sum(Appeal.rehandle_count > 0), _sum(VALID), _sum(and_(VALID, Appeal.resolved == true())),
                    _sum(Appeal.satisfaction == "satisfied"), _sum(Appeal.satisfaction == "basically_satisfied"),
                    _sum(Appeal.satisfaction == "dissatisfied"))
             .where(*where, Appeal.lead_unit_id.is_not(None)).group_by(group))
    result = {}
    for key, *n in session.execute(query):
        result[key] = ev.Counts(handled=n[0], closed=n[1], on_time=n[2], late=n[3], rehandled=n[4], valid=n[5],
                                resolved=n[6], satisfied=n[7], basically=n[8], dissatisfied=n[9])
    return result


def unit_counts(session, start, end) -> dict[int, ev.Counts]:
    """Counts per unit for the appeals accepted in [start, end): four grouped queries."""
    where = [_in(start, end)]
    counts = _handled_counts(session, where, Appeal.lead_unit_id)
    history = (select(Appeal.lead_unit_id,
                      func.count(func.distinct(case((HistoryEvent.action == "extension_decided", Appeal.id)))),
                      func.count(func.distinct(case((and_(REACHED_APPELLANT, VALID), Appeal.id)))),
                      func.count(func.distinct(case((_reached(EXPLAINED_MILESTONE), Appeal.id)))),
                      func.count(func.distinct(case((_reached(REJECTED_MILESTONE), Appeal.id)))),
                      func.count(func.distinct(case((HistoryEvent.action == "urged", Appeal.id)))),
                      func.count(func.distinct(case((VISIT_PROBLEM, Appeal.id)))))
               .join(HistoryEvent, HistoryEvent.business_key == Appeal.id)
               .where(*where, Appeal.lead_unit_id.is_not(None), or_(
                   and_(HistoryEvent.action == "extension_decided",
                        HistoryEvent.detail["approved"].as_boolean() == true()),
                   REACHED_APPELLANT, _reached(EXPLAINED_MILESTONE), _reached(REJECTED_MILESTONE),
                   HistoryEvent.action == "urged", VISIT_PROBLEM))
               .group_by(Appeal.lead_unit_id))
    for unit, extended, contacted, explained, rejected, urged, problems in session.execute(history):
        c = counts.setdefault(unit, ev.Counts())
        c.extended, c.contacted, c.explained, c.rejected, c.urged = extended, contacted, explained, rejected, urged
        c.visit_problems = problems
    leads = (select(AppealUnit.unit_id, func.count(func.distinct(AppealUnit.appeal_id)),
                    func.count(func.distinct(case((AppealUnit.active == false(), AppealUnit.appeal_id)))))
             .join(Appeal, Appeal.id == AppealUnit.appeal_id)
             .where(*where, AppealUnit.role == "lead").group_by(AppealUnit.unit_id))
    for unit, received, returned in session.execute(leads):
        c = counts.setdefault(unit, ev.Counts())
        c.received, c.returned = received, returned
    late = (select(OverdueRecord.unit_id, OverdueRecord.stage, func.count(func.distinct(OverdueRecord.appeal_id)))
            .join(Appeal, Appeal.id == OverdueRecord.appeal_id)
            .where(*where, OverdueRecord.stage.in_(("sign_for", "co_feedback")), OverdueRecord.unit_id.is_not(None))
            .group_by(OverdueRecord.unit_id, OverdueRecord.stage))
    for unit, stage, n in session.execute(late):
        setattr(counts.setdefault(unit, ev.Counts()), "late_sign" if stage == "sign_for" else "co_late", n)
    co = (select(AppealUnit.unit_id, func.count(func.distinct(AppealUnit.appeal_id)))
          .join(Appeal, Appeal.id == AppealUnit.appeal_id).where(*where, AppealUnit.role == "co")
          .group_by(AppealUnit.unit_id))
    for unit, n in session.execute(co):
        counts.setdefault(unit, ev.Counts()).co_received = n
    for unit, _appeal in _co_returns(session, where):
        counts.setdefault(unit, ev.Counts()).co_returned += 1
    return counts


def _co_returns(session, where) -> set[tuple[int, int]]:
    """(unit, appeal) of each co-organizer that returned its part (Art. 16)."""
    rows = session.execute(select(HistoryEvent.detail, HistoryEvent.business_key)
                           .join(Appeal, Appeal.id == HistoryEvent.business_key)
                           .where(*where, HistoryEvent.action == "co_returned"))
    return {(detail["unit_id"], appeal_id) for detail, appeal_id in rows if (detail or {}).get("unit_id")}


def unit_report(session, period: ev.Period, config: ev.Config | None = None, unit_id: int | None = None) -> Report:
    """The ranking table of every active unit for `period`, with the honour lists, the trend
    and the type breakdown. With `unit_id` (an organizer leader) only that unit's row is kept
    (ranked among all), the lists are empty and the trend and breakdown are the unit's own.
    Raises ProcessError when the configuration is invalid."""
    config = config or ev.load_config()
    start, end = ev.window(period, config.window_start_day)
    counts = unit_counts(session, start, end)
    units = session.execute(select(OrganizerUnit.id, OrganizerUnit.name)
                            .where(or_(OrganizerUnit.active == true(), OrganizerUnit.id.in_(list(counts))))).all()
    rows = ev.rank([ev.UnitRow(u, name, counts.get(u, ev.Counts()), ev.figures(counts.get(u, ev.Counts()), config))
                    for u, name in units], config)
    total_counts = ev.Counts()
    for row in rows:
        total_counts.add(row.counts)
    total = ev.UnitRow(0, "", total_counts, ev.figures(total_counts, config))
    lists = ev.honour_lists(rows, config)
    ranked = sum(r.rank is not None for r in rows)
    if unit_id is not None:
        rows = [r for r in rows if r.unit_id == unit_id]
        lists = {"red": [], "black": [], "commended": []}
    return Report(period, start, end, config, rows, lists, total, ranked,
                  trend(session, period, config, unit_id), categories(session, start, end, config, unit_id))


def trend(session, period: ev.Period, config: ev.Config, unit_id: int | None = None) -> list[dict]:
    """Satisfaction and on-time rates of the last periods up to `period`, oldest first, in one
    query (each appeal is put in its period's bucket by a CASE over the windows)."""
    periods = [ev.shift(period, -i) for i in reversed(range(TREND_LENGTH[period.kind]))]
    windows = [ev.window(p, config.window_start_day) for p in periods]
    bucket = case(*[(and_(Appeal.accepted_at >= s, Appeal.accepted_at < e), i) for i, (s, e) in enumerate(windows)])
    where = [_in(windows[0][0], windows[-1][1])]
    if unit_id is not None:
        where.append(Appeal.lead_unit_id == unit_id)
    counts = _handled_counts(session, where, bucket)
    result = []
    for i, p in enumerate(periods):
        figures = ev.figures(counts.get(i, ev.Counts()), config)
        result.append({"period": p, "volume": counts.get(i, ev.Counts()).handled,
                       "satisfaction_rate": figures["satisfaction_rate"], "on_time_rate": figures["on_time_rate"]})
    return result


def categories(session, start, end, config: ev.Config, unit_id: int | None = None) -> list[dict]:
    """Handled appeals and satisfaction by appeal type, largest first."""
    where = [_in(start, end)] + ([Appeal.lead_unit_id == unit_id] if unit_id is not None else [])
    counts = _handled_counts(session, where, Appeal.appeal_type)
    return sorted(({"type": t, "volume": c.handled, "satisfaction_rate": ev.figures(c, config)["satisfaction_rate"]}
                   for t, c in counts.items()), key=lambda d: (-d["volume"], d["type"]))


def _lead_rows(unit_id, *extra):
    query = select(AppealUnit.appeal_id).where(AppealUnit.role == "lead", *extra)
    return Appeal.id.in_(query.where(AppealUnit.unit_id == unit_id) if unit_id else query)


def _co_rows(unit_id: int | None):
    return select(AppealUnit.appeal_id).where(AppealUnit.role == "co",
                                              *([AppealUnit.unit_id == unit_id] if unit_id else []))


def _drill_conditions(metric: str, unit_id: int | None) -> list:
    """The appeals behind one figure, as WHERE conditions (besides the period)."""
    mine = [Appeal.lead_unit_id == unit_id] if unit_id else [Appeal.lead_unit_id.is_not(None)]
    late_sign = select(OverdueRecord.appeal_id).where(OverdueRecord.stage == "sign_for")
    valid = [*mine, VALID]
    return {
        "received": [_lead_rows(unit_id)],
        "late_sign": [Appeal.id.in_(late_sign.where(OverdueRecord.unit_id == unit_id) if unit_id else late_sign)],
        "returned": [_lead_rows(unit_id, AppealUnit.active == false())],
        "handled": mine,
        "on_time": [*mine, CLOSED, not_(LATE_HANDLING)],
        "late": [*mine, LATE_HANDLING],
        "extended": [*mine, EXTENDED],
        "rehandled": [*mine, Appeal.rehandle_count > 0],
        "visit_problems": [*mine, exists().where(HistoryEvent.business_key == Appeal.id, VISIT_PROBLEM)],
        "urged": [*mine, exists().where(HistoryEvent.business_key == Appeal.id, HistoryEvent.action == "urged")],
        "co_received": [Appeal.id.in_(_co_rows(unit_id))],
        "co_late": [Appeal.id.in_(select(OverdueRecord.appeal_id).where(
            OverdueRecord.stage == "co_feedback", *([OverdueRecord.unit_id == unit_id] if unit_id else [])))],
        "rejected": [*mine, exists().where(HistoryEvent.business_key == Appeal.id, _reached(REJECTED_MILESTONE))],
        "explained": [*mine, exists().where(HistoryEvent.business_key == Appeal.id, _reached(EXPLAINED_MILESTONE))],
        "valid": valid,
        "contacted": [*valid, CONTACTED],
        "not_contacted": [*valid, not_(CONTACTED)],
        "resolved": [*valid, Appeal.resolved == true()],
        "unresolved": [*valid, or_(Appeal.resolved.is_(None), Appeal.resolved == false())],
        "satisfied": [*mine, Appeal.satisfaction == "satisfied"],
        "basically_satisfied": [*mine, Appeal.satisfaction == "basically_satisfied"],
        "dissatisfied": [*mine, Appeal.satisfaction == "dissatisfied"],
    }.get(metric)


DRILL_METRICS = ("received", "late_sign", "returned", "handled", "on_time", "late", "extended", "rehandled",
                 "rejected", "explained", "urged", "visit_problems", "co_received", "co_late", "valid",
                 "contacted", "not_contacted", "resolved", "unresolved", "satisfied", "basically_satisfied",
                 "dissatisfied")


def drill(session, period: ev.Period, metric: str, unit_id: int | None = None, config: ev.Config | None = None,
          limit: int = DRILL_LIMIT, appeal_type: str | None = None) -> dict:
    """The appeals behind a figure (first `limit`, oldest first), how many there are, and the
    unit's name (None for all units). Raises InvalidInput for an unknown metric, NotFound for
    an unknown unit."""
    conditions = _drill_conditions(metric, unit_id)
    if conditions is None:
        raise InvalidInput("unknown metric", {"metric": ["未知的考核指标"]})
    unit_name = session.scalar(select(OrganizerUnit.name).where(OrganizerUnit.id == unit_id)) if unit_id else None
    if unit_id and unit_name is None:
        raise NotFound(f"no organizer unit {unit_id}")
    config = config or ev.load_config()
    start, end = ev.window(period, config.window_start_day)
    where = [_in(start, end), *conditions] + ([Appeal.appeal_type == appeal_type] if appeal_type else [])
    total = session.scalar(select(func.count()).select_from(Appeal).where(*where))
    rows = session.execute(
        select(Appeal.id, Appeal.number, Appeal.title, Appeal.appeal_type, Appeal.status, Appeal.accepted_at,
               Appeal.closed_at, Appeal.handling_due_at, Appeal.satisfaction, Appeal.resolved, Appeal.rehandle_count,
               OrganizerUnit.name.label("unit_name"))
        .outerjoin(OrganizerUnit, OrganizerUnit.id == Appeal.lead_unit_id)
        .where(*where).order_by(Appeal.accepted_at, Appeal.id).limit(limit)).mappings().all()
    return {"rows": [dict(r) for r in rows], "total": total, "start": start, "end": end, "unit_name": unit_name,
            "last_day": (end - timedelta(days=1)).date()}


def facts(session, start, end) -> list[ev.AppealFacts]:
    """Every appeal of [start, end) as AppealFacts, fetched row by row: the plain-Python way to
    the same counts (`evaluation.tally`), used as the benchmark's baseline and in tests."""
    where = _in(start, end)
    leads, late_sign, extended, contacted, explained, rejected, urged, problems = {}, {}, *(set() for _ in range(6))
    for appeal_id, unit, active in session.execute(
            select(AppealUnit.appeal_id, AppealUnit.unit_id, AppealUnit.active).join(Appeal)
            .where(where, AppealUnit.role == "lead")):
        leads.setdefault(appeal_id, []).append((unit, active))
    for appeal_id, stage, unit in session.execute(
            select(OverdueRecord.appeal_id, OverdueRecord.stage, OverdueRecord.unit_id).join(Appeal).where(where)):
        late_sign.setdefault(appeal_id, set()).add((stage, unit))
    for appeal_id, action, detail in session.execute(
            select(HistoryEvent.business_key, HistoryEvent.action, HistoryEvent.detail)
            .join(Appeal, Appeal.id == HistoryEvent.business_key).where(where)):
        if action == "extension_decided" and (detail or {}).get("approved"):
            extended.add(appeal_id)
        elif action == "urged":
            urged.add(appeal_id)
        elif action == "return_visit_recorded" and (detail or {}).get("problem_found"):
            problems.add(appeal_id)
        elif action == milestones.ACTION:
            reached = (detail or {}).get("milestone")
            {CONTACTED_MILESTONE: contacted, EXPLAINED_MILESTONE: explained,
             REJECTED_MILESTONE: rejected}.get(reached, set()).add(appeal_id)
    co_units, co_returned = {}, {}
    for appeal_id, unit in session.execute(select(AppealUnit.appeal_id, AppealUnit.unit_id).join(Appeal)
                                           .where(where, AppealUnit.role == "co")):
        co_units.setdefault(appeal_id, set()).add(unit)
    for unit, appeal_id in _co_returns(session, where):
        co_returned.setdefault(appeal_id, set()).add(unit)
    rows = session.execute(select(Appeal.id, Appeal.lead_unit_id, Appeal.closed_at, Appeal.satisfaction,
                                  Appeal.resolved, Appeal.rehandle_count).where(where))
    return [ev.AppealFacts(
        appeal_id=i, lead_unit_id=unit, outcome="closed" if closed else "open", satisfaction=sat, resolved=resolved,
        rehandle_count=rehandled,
        leads=tuple(leads.get(i, ())), late_sign_units=frozenset(u for s, u in late_sign.get(i, ()) if s == "sign_for"),
        late_handling=any(s == "handling" for s, _u in late_sign.get(i, ())), extended=i in extended,
        contacted=i in contacted, explained=i in explained, rejected=i in rejected, urged=i in urged,
        visit_problem=i in problems,
        co_units=frozenset(co_units.get(i, ())), co_returned_units=frozenset(co_returned.get(i, ())),
        co_late_units=frozenset(u for s, u in late_sign.get(i, ()) if s == "co_feedback")) for i, unit, closed, sat, resolved, rehandled in rows]
