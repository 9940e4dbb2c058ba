"""The evaluation reports (Art. 25, 26, 28) on the database: the counts of hotline.evaluation
aggregated in SQL (GROUP BY with conditional sums, so a month of a million-appeal table is read
once per source, bench/evaluation.py), the trend over the last periods, the breakdown by
appeal type, and the appeals behind any figure (drill-down). Queries only, nothing here writes.

Per centre (Art. 3, 8, 9): a centre's evaluation covers the appeals held by that centre or any
centre below it (`Appeal.centre_id` in its subtree, an indexed column); None or the provincial
centre covers every appeal. Every count is grouped by (unit, appeal type) in the same queries,
so the ranking within each appeal type costs no extra pass over the month.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, exists, false, func, not_, or_, select, text, true

from runtime import clock, milestones
from runtime.errors import Forbidden, InvalidInput, NotFound
from runtime.models import HistoryEvent

from . import centres as centre_tree
from . import evaluation as ev
from .access import UNIT_LEADER
from .models import (
    APPEAL_TYPES,
    AccountabilityRecord,
    Appeal,
    AppealUnit,
    Centre,
    OrganizerUnit,
    OverdueRecord,
    Region,
    User,
)
from .statuses import TERMINATED

TREND_LENGTH = {"month": 12, "quarter": 8, "year": 5}
DRILL_LIMIT = 500
VALID = Appeal.satisfaction.in_(ev.VALID_EVALUATIONS)
# A set, not a per-appeal EXISTS: PostgreSQL hashes the few overdue appeals once instead of probing
# the index for each of a year's appeals (the 12-month trend, bench/evaluation.py). appeal_id is
# never NULL, so NOT IN is safe.
LATE_HANDLING = Appeal.id.in_(select(OverdueRecord.appeal_id).where(OverdueRecord.stage == "handling"))
LATE_CONTACT = Appeal.id.in_(select(OverdueRecord.appeal_id).where(OverdueRecord.stage == "first_contact"))
CONTACT_LIMIT = Appeal.first_contact_due_at.is_not(None)
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
    by_type: dict = None  # appeal type -> UnitRow list ranked within that type (graded evaluation)
    individuals: list = None  # staff and leaders named in commendations and accountability records
    centre: object = None  # the Centre evaluated (None: every appeal)
    as_of: object = None  # open appeals past their deadline at this time count as late

    @property
    def last_day(self):
        """The window's last day (it ends at midnight after it)."""
        return (self.end - timedelta(days=1)).date()


def _without_jit(session) -> None:
    """PostgreSQL JIT-compiles these grouped queries (their cost estimates pass jit_above_cost),
    and compiling takes longer than running them: ~0.4 s per query at a month of a
    million-appeal table (bench/evaluation.py, EXPLAIN ANALYZE). Off for this transaction only."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _in(start, end, centres=None):
    condition = and_(Appeal.accepted_at >= start, Appeal.accepted_at < end, Appeal.status != TERMINATED)
    return and_(condition, Appeal.centre_id.in_(centres)) if centres is not None else condition


def _sum(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def centre_subtree(session, centre_id: int | None) -> list[int] | None:
    """The ids of the centre and every centre below it; None (no filter) for None or the
    provincial centre. Raises NotFound for an unknown centre."""
    if centre_id is None:
        return None
    parents = dict(session.execute(select(Centre.id, Centre.parent_id)).all())
    if centre_id not in parents:
        raise NotFound(f"no centre {centre_id}")
    if parents[centre_id] is None:
        return None
    found, grew = {centre_id}, True
    while grew:
        below = {c for c, p in parents.items() if p in found and c not in found}
        found |= below
        grew = bool(below)
    return sorted(found)


def _handled_counts(session, where, group, as_of=None) -> dict:
    """handled .. dissatisfied per `group` value (a column or a tuple of columns) over the
    period's dispatched appeals."""
    late = LATE_HANDLING
    as_of = as_of or clock.now()
    groups = group if isinstance(group, tuple) else (group,)
    open_late = and_(Appeal.closed_at.is_(None), Appeal.handling_due_at < as_of, not_(late))
    query = (select(*groups, func.count(), _sum(CLOSED), _sum(and_(CLOSED, not_(late))), _sum(late),
                    _sum(Appeal.rehandle_count > 0), _sum(VALID), _sum(and_(VALID, Appeal.resolved == true())),
                    _sum(Appeal.satisfaction == "satisfied"), _sum(Appeal.satisfaction == "basically_satisfied"),
                    _sum(Appeal.satisfaction == "dissatisfied"), _sum(CONTACT_LIMIT),
                    _sum(and_(CONTACT_LIMIT, LATE_CONTACT)), _sum(open_late),
                    _sum(and_(CLOSED, Appeal.satisfaction.is_not(None))))
             .where(*where, Appeal.lead_unit_id.is_not(None)).group_by(*groups))
    result = {}
    for row in session.execute(query):
        key, n = (tuple(row[:len(groups)]) if len(groups) > 1 else row[0]), row[len(groups):]
        result[key] = ev.Counts(handled=n[0], closed=n[1], on_time=n[2], late=n[3], rehandled=n[4], valid=n[5],
                                resolved=n[6], satisfied=n[7], basically=n[8], dissatisfied=n[9], contact_due=n[10],
                                late_contact=n[11], open_late=n[12], visited=n[13])
    return result


def unit_counts(session, start, end, centres=None, as_of=None) -> dict[int, ev.Counts]:
    """Counts per unit for the appeals accepted in [start, end) (held by `centres`, a list of
    centre ids, when given)."""
    result: dict[int, ev.Counts] = {}
    for (unit, _type), c in unit_type_counts(session, start, end, centres, as_of).items():
        result.setdefault(unit, ev.Counts()).add(c)
    return result


def unit_type_counts(session, start, end, centres=None, as_of=None) -> dict[tuple[int, str], ev.Counts]:
    """Counts per (unit, appeal type) for the appeals accepted in [start, end): five grouped
    queries."""
    _without_jit(session)
    where = [_in(start, end, centres)]
    kind = Appeal.appeal_type
    counts = _handled_counts(session, where, (Appeal.lead_unit_id, kind), as_of)
    history = (select(Appeal.lead_unit_id, kind,
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
               .group_by(Appeal.lead_unit_id, kind))
    for unit, t, extended, contacted, explained, rejected, urged, problems in session.execute(history):
        c = counts.setdefault((unit, t), ev.Counts())
        c.extended, c.contacted, c.explained, c.rejected, c.urged = extended, contacted, explained, rejected, urged
        c.visit_problems = problems
    leads = (select(AppealUnit.unit_id, kind, func.count(func.distinct(AppealUnit.appeal_id)),
                    func.count(func.distinct(case((AppealUnit.active == false(), AppealUnit.appeal_id)))))
             .join(Appeal, Appeal.id == AppealUnit.appeal_id)
             .where(*where, AppealUnit.role == "lead").group_by(AppealUnit.unit_id, kind))
    for unit, t, received, returned in session.execute(leads):
        c = counts.setdefault((unit, t), ev.Counts())
        c.received, c.returned = received, returned
    late = (select(OverdueRecord.unit_id, kind, OverdueRecord.stage, func.count(func.distinct(OverdueRecord.appeal_id)))
            .join(Appeal, Appeal.id == OverdueRecord.appeal_id)
            .where(*where, OverdueRecord.stage.in_(("sign_for", "co_feedback")), OverdueRecord.unit_id.is_not(None))
            .group_by(OverdueRecord.unit_id, kind, OverdueRecord.stage))
    for unit, t, stage, n in session.execute(late):
        setattr(counts.setdefault((unit, t), ev.Counts()), "late_sign" if stage == "sign_for" else "co_late", n)
    co = (select(AppealUnit.unit_id, kind, func.count(func.distinct(AppealUnit.appeal_id)))
          .join(Appeal, Appeal.id == AppealUnit.appeal_id).where(*where, AppealUnit.role == "co")
          .group_by(AppealUnit.unit_id, kind))
    for unit, t, n in session.execute(co):
        counts.setdefault((unit, t), ev.Counts()).co_received = n
    for unit, _appeal, t in _co_returns(session, where):
        counts.setdefault((unit, t), ev.Counts()).co_returned += 1
    return counts


def _co_returns(session, where) -> set[tuple[int, int, str]]:
    """(unit, appeal, appeal type) of each co-organizer that returned its part (Art. 16)."""
    # only appeals that had co-organizers can have a co_returned row: probing their history by
    # business key is cheap, scanning a month's whole history for the action is not (bench)
    co_appeals = select(AppealUnit.appeal_id).where(AppealUnit.role == "co")
    rows = session.execute(select(HistoryEvent.detail, HistoryEvent.business_key, Appeal.appeal_type)
                           .join(Appeal, Appeal.id == HistoryEvent.business_key)
                           .where(*where, Appeal.id.in_(co_appeals), HistoryEvent.action == "co_returned"))
    return {(detail["unit_id"], appeal_id, t) for detail, appeal_id, t in rows if (detail or {}).get("unit_id")}


def _units_of(session, centre, counted) -> list[tuple[int, str]]:
    """(id, name) of the units a centre's ranking lists: the active units of its region (every
    active unit for the province) and any unit with figures."""
    rows = session.execute(select(OrganizerUnit.id, OrganizerUnit.name, OrganizerUnit.region_id, OrganizerUnit.active)).all()
    if centre is None or centre.parent_id is None:
        return [(u, n) for u, n, _r, active in rows if active or u in counted]
    parents = dict(session.execute(select(Region.id, Region.parent_id)).all())

    def inside(region):
        seen = set()
        while region is not None and region not in seen:
            if region == centre.region_id:
                return True
            seen.add(region)
            region = parents.get(region)
        return False
    return [(u, n) for u, n, r, active in rows if u in counted or (active and inside(r))]


def _ranked(units, counts, config):
    return ev.rank([ev.UnitRow(u, name, counts.get(u, ev.Counts()), ev.figures(counts.get(u, ev.Counts()), config))
                    for u, name in units], config)


def unit_report(session, period: ev.Period, config: ev.Config | None = None, unit_id: int | None = None, *,
                centre_id: int | None = None, as_of=None) -> Report:
    """The ranking table of the units for `period`, with the honour lists, the ranking within
    each appeal type, the individuals named, the trend and the type breakdown. With `centre_id`
    only the appeals held in that centre's subtree count (see the module docstring). With
    `unit_id` (an organizer leader) only that unit's row is kept (ranked among all), the lists
    are empty and the trend and breakdown are the unit's own. `as_of` (default now): open
    appeals past their handling deadline at that time count as late. Raises ProcessError when
    the configuration is invalid, NotFound for an unknown centre."""
    config = config or ev.load_config()
    as_of = as_of or clock.now()
    start, end = ev.window(period, config.window_start_day)
    centres = centre_subtree(session, centre_id)
    centre = session.get(Centre, centre_id) if centre_id is not None else None
    typed = unit_type_counts(session, start, end, centres, as_of)
    counts: dict[int, ev.Counts] = {}
    per_type: dict[str, dict[int, ev.Counts]] = {}
    for (unit, t), c in typed.items():
        counts.setdefault(unit, ev.Counts()).add(c)
        per_type.setdefault(t, {}).setdefault(unit, ev.Counts()).add(c)
    units = _units_of(session, centre, counts)
    names = dict(units)
    rows = _ranked(units, counts, config)
    total_counts = ev.Counts()
    for row in rows:
        total_counts.add(row.counts)
    total = ev.UnitRow(0, "", total_counts, ev.figures(total_counts, config))
    lists = ev.honour_lists(rows, config)
    ranked = sum(r.rank is not None for r in rows)
    by_type = {t: _ranked([(u, names.get(u, "")) for u in per_type[t]], per_type[t], config)
               for t in APPEAL_TYPES if t in per_type}
    people = individuals(session, start, end, lists["commended"], centres, {u for u, _n in units})
    if unit_id is not None:
        rows = [r for r in rows if r.unit_id == unit_id]
        lists = {"red": [], "black": [], "commended": []}
        by_type = {t: [r for r in rs if r.unit_id == unit_id] for t, rs in by_type.items()}
        people = [p for p in people if p["unit_id"] == unit_id]
    if unit_id is None:
        cats = sorted(({"type": t, "volume": sum(c.handled for c in per.values()),
                        "satisfaction_rate": ev.figures(_summed(per.values()), config)["satisfaction_rate"]}
                       for t, per in per_type.items() if any(c.handled for c in per.values())),
                      key=lambda d: (-d["volume"], d["type"]))
    else:
        cats = categories(session, start, end, config, unit_id, centres)
    return Report(period, start, end, config, rows, lists, total, ranked,
                  trend(session, period, config, unit_id, centres, as_of), cats, by_type, people, centre, as_of)


def _summed(counts) -> ev.Counts:
    total = ev.Counts()
    for c in counts:
        total.add(c)
    return total


def individuals(session, start, end, commended, centres=None, unit_ids=None) -> list[dict]:
    """The people named by the period (Art. 28-30): the leaders of the commended units, and the
    staff and unit leaders of the accountability records made in [start, end). Each entry:
    kind (commendation | accountability), name, username, role, unit_id, unit_name, article,
    measure, finding. With `centres` (a centre's subtree) only the records of its staff, of its
    units (`unit_ids`) or about appeals it holds."""
    leaders: dict[int, list] = {}
    for user in session.scalars(select(User).where(User.role == UNIT_LEADER, User.active == true())
                                .order_by(User.id)):
        leaders.setdefault(user.unit_id, []).append(user)
    unit_names = dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)).all())
    found = []
    for row in commended:
        for leader in leaders.get(row.unit_id, []) or [None]:
            found.append({"kind": "commendation", "name": leader.display_name if leader else None,
                          "username": leader.username if leader else None, "role": UNIT_LEADER,
                          "unit_id": row.unit_id, "unit_name": row.name, "article": "第二十八条",
                          "measure": "表扬", "finding": f"综合得分 {row.figures['score']:.2f}，第 {row.rank} 名"})
    records = session.scalars(select(AccountabilityRecord).where(AccountabilityRecord.created_at >= start,
                                                                 AccountabilityRecord.created_at < end)
                              .order_by(AccountabilityRecord.created_at, AccountabilityRecord.id)).all()
    for record in records:
        person = session.get(User, record.user_id) if record.user_id else None
        if centres is not None and not _record_in(session, record, person, centres, unit_ids or set()):
            continue
        named = [person] if person else leaders.get(record.unit_id, []) or [None]
        for who in named:
            found.append({"kind": "accountability", "name": who.display_name if who else None,
                          "username": who.username if who else None, "role": who.role if who else None,
                          "unit_id": record.unit_id, "unit_name": unit_names.get(record.unit_id),
                          "article": record.article, "measure": record.measure, "finding": record.finding})
    return found


def _record_in(session, record, person, centres, unit_ids) -> bool:
    """Whether an accountability record belongs to a centre's evaluation: its staff member
    works there, its unit is one of the centre's, or one of its appeals is held there."""
    if person is not None and person.centre_id in centres or record.unit_id in unit_ids:
        return True
    ids = [i for i in (record.appeal_ids or []) if isinstance(i, int)]
    return bool(ids) and session.scalar(select(func.count()).select_from(Appeal).where(
        Appeal.id.in_(ids), Appeal.centre_id.in_(centres))) > 0


def trend(session, period: ev.Period, config: ev.Config, unit_id: int | None = None, centres=None,
          as_of=None) -> list[dict]:
    """Satisfaction and on-time rates of the last periods up to `period`, oldest first, in one
    query (each appeal is put in its period's bucket by a CASE over the windows)."""
    _without_jit(session)
    periods = [ev.shift(period, -i) for i in reversed(range(TREND_LENGTH[period.kind]))]
    windows = [ev.window(p, config.window_start_day) for p in periods]
    bucket = case(*[(and_(Appeal.accepted_at >= s, Appeal.accepted_at < e), i) for i, (s, e) in enumerate(windows)])
    where = [_in(windows[0][0], windows[-1][1], centres), Appeal.lead_unit_id.is_not(None)]
    if unit_id is not None:
        where.append(Appeal.lead_unit_id == unit_id)
    # only what the two lines need: a year of appeals is read, each sum costs (bench/evaluation.py)
    late = LATE_HANDLING
    open_late = and_(Appeal.closed_at.is_(None), Appeal.handling_due_at < (as_of or clock.now()), not_(late))
    query = (select(bucket, func.count(), _sum(and_(CLOSED, not_(late))), _sum(late), _sum(open_late), _sum(VALID),
                    _sum(Appeal.satisfaction == "satisfied"), _sum(Appeal.satisfaction == "basically_satisfied"))
             .where(*where).group_by(bucket))
    counts = {i: ev.Counts(handled=n, on_time=on_time, late=lh, open_late=lo, valid=valid, satisfied=sat, basically=basic)
              for i, n, on_time, lh, lo, valid, sat, basic in session.execute(query)}
    result = []
    for i, p in enumerate(periods):
        figures = ev.figures(counts.get(i, ev.Counts()), config)
        result.append({"period": p, "volume": counts.get(i, ev.Counts()).handled,
                       "satisfaction_rate": figures["satisfaction_rate"], "on_time_rate": figures["on_time_rate"]})
    return result


def categories(session, start, end, config: ev.Config, unit_id: int | None = None, centres=None) -> list[dict]:
    """Handled appeals and satisfaction by appeal type, largest first."""
    where = [_in(start, end, centres)] + ([Appeal.lead_unit_id == unit_id] if unit_id is not None else [])
    counts = _handled_counts(session, where, Appeal.appeal_type)
    return sorted(({"type": t, "volume": c.handled, "satisfaction_rate": ev.figures(c, config)["satisfaction_rate"]}
                   for t, c in counts.items()), key=lambda d: (-d["volume"], d["type"]))


def _lead_rows(unit_id, *extra):
    query = select(AppealUnit.appeal_id).where(AppealUnit.role == "lead", *extra)
    return Appeal.id.in_(query.where(AppealUnit.unit_id == unit_id) if unit_id else query)


def _co_rows(unit_id: int | None):
    return select(AppealUnit.appeal_id).where(AppealUnit.role == "co",
                                              *([AppealUnit.unit_id == unit_id] if unit_id else []))


def _drill_conditions(metric: str, unit_id: int | None, as_of=None) -> list:
    """The appeals behind one figure, as WHERE conditions (besides the period)."""
    mine = [Appeal.lead_unit_id == unit_id] if unit_id else [Appeal.lead_unit_id.is_not(None)]
    open_late = and_(Appeal.closed_at.is_(None), Appeal.handling_due_at < (as_of or clock.now()))
    late_sign = select(OverdueRecord.appeal_id).where(OverdueRecord.stage == "sign_for")
    valid = [*mine, VALID]
    return {
        "received": [_lead_rows(unit_id)],
        "late_sign": [Appeal.id.in_(late_sign.where(OverdueRecord.unit_id == unit_id) if unit_id else late_sign)],
        "returned": [_lead_rows(unit_id, AppealUnit.active == false())],
        "handled": mine,
        "on_time": [*mine, CLOSED, not_(LATE_HANDLING)],
        "late": [*mine, or_(LATE_HANDLING, open_late)],
        "late_contact": [*mine, CONTACT_LIMIT, LATE_CONTACT],
        "open": [*mine, Appeal.closed_at.is_(None)],
        "not_visited": [*mine, CLOSED, Appeal.satisfaction.is_(None)],
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


DRILL_METRICS = ("received", "late_sign", "returned", "handled", "on_time", "late", "late_contact", "open",
                 "not_visited", "extended", "rehandled",
                 "rejected", "explained", "urged", "visit_problems", "co_received", "co_late", "valid",
                 "contacted", "not_contacted", "resolved", "unresolved", "satisfied", "basically_satisfied",
                 "dissatisfied")


def drill(session, period: ev.Period, metric: str, unit_id: int | None = None, config: ev.Config | None = None,
          limit: int = DRILL_LIMIT, appeal_type: str | None = None, *, centre_id: int | None = None,
          as_of=None) -> dict:
    """The appeals behind a figure (first `limit`, oldest first), how many there are, and the
    unit's name (None for all units); with `centre_id`, of that centre's subtree. Raises
    InvalidInput for an unknown metric, NotFound for an unknown unit or centre."""
    conditions = _drill_conditions(metric, unit_id, as_of)
    if conditions is None:
        raise InvalidInput("unknown metric", {"metric": ["未知的考核指标"]})
    unit_name = session.scalar(select(OrganizerUnit.name).where(OrganizerUnit.id == unit_id)) if unit_id else None
    if unit_id and unit_name is None:
        raise NotFound(f"no organizer unit {unit_id}")
    config = config or ev.load_config()
    start, end = ev.window(period, config.window_start_day)
    _without_jit(session)
    where = [_in(start, end, centre_subtree(session, centre_id)), *conditions] + ([Appeal.appeal_type == appeal_type] if appeal_type else [])
    total = session.scalar(select(func.count()).select_from(Appeal).where(*where))
    rows = session.execute(
        select(Appeal.id, Appeal.number, Appeal.title, Appeal.appeal_type, Appeal.status, Appeal.accepted_at,
               Appeal.closed_at, Appeal.handling_due_at, Appeal.satisfaction, Appeal.resolved, Appeal.rehandle_count,
               OrganizerUnit.name.label("unit_name"))
        .outerjoin(OrganizerUnit, OrganizerUnit.id == Appeal.lead_unit_id)
        .where(*where).order_by(Appeal.accepted_at, Appeal.id).limit(limit)).mappings().all()
    return {"rows": [dict(r) for r in rows], "total": total, "start": start, "end": end, "unit_name": unit_name,
            "last_day": (end - timedelta(days=1)).date()}


def facts(session, start, end, centres=None, as_of=None) -> list[ev.AppealFacts]:
    """Every appeal of [start, end) as AppealFacts, fetched row by row: the plain-Python way to
    the same counts (`evaluation.tally`), used as the benchmark's baseline and in tests."""
    where = _in(start, end, centres)
    as_of = as_of or clock.now()
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
    for unit, appeal_id, _type in _co_returns(session, where):
        co_returned.setdefault(appeal_id, set()).add(unit)
    rows = session.execute(select(Appeal.id, Appeal.lead_unit_id, Appeal.closed_at, Appeal.satisfaction,
                                  Appeal.resolved, Appeal.rehandle_count, Appeal.first_contact_due_at,
                                  Appeal.handling_due_at).where(where))
    return [ev.AppealFacts(
        appeal_id=i, lead_unit_id=unit, outcome="closed" if closed else "open", satisfaction=sat, resolved=resolved,
        rehandle_count=rehandled,
        leads=tuple(leads.get(i, ())), late_sign_units=frozenset(u for s, u in late_sign.get(i, ()) if s == "sign_for"),
        late_handling=any(s == "handling" for s, _u in late_sign.get(i, ())), extended=i in extended,
        contacted=i in contacted, explained=i in explained, rejected=i in rejected, urged=i in urged,
        visit_problem=i in problems,
        co_units=frozenset(co_units.get(i, ())), co_returned_units=frozenset(co_returned.get(i, ())),
        co_late_units=frozenset(u for s, u in late_sign.get(i, ()) if s == "co_feedback"),
        contact_limit=contact_due is not None,
        late_contact=any(s == "first_contact" for s, _u in late_sign.get(i, ())),
        open_late=closed is None and handling_due is not None and handling_due < as_of)
        for i, unit, closed, sat, resolved, rehandled, contact_due, handling_due in rows]


def annual(session, year: int, unit_id: int, config: ev.Config | None = None, *, centre_id: int | None = None,
           as_of=None) -> dict:
    """One unit's annual appraisal (Art. 25 "annual performance appraisal"): its row, ranked
    among the centre's units, for each month of `year` and for the year, and the commendations
    and accountability records naming it or its people that year. Raises NotFound for an
    unknown unit or centre."""
    config = config or ev.load_config()
    as_of = as_of or clock.now()
    unit = session.get(OrganizerUnit, unit_id)
    if unit is None:
        raise NotFound(f"no organizer unit {unit_id}")
    centres = centre_subtree(session, centre_id)
    centre = session.get(Centre, centre_id) if centre_id is not None else None

    def row_of(period):
        start, end = ev.window(period, config.window_start_day)
        counts = unit_counts(session, start, end, centres, as_of)
        rows = _ranked(_units_of(session, centre, counts), counts, config)
        mine = next((r for r in rows if r.unit_id == unit_id), None)
        if mine is None:
            mine = ev.UnitRow(unit_id, unit.name, ev.Counts(), ev.figures(ev.Counts(), config))
        return mine, rows

    months = [(p, row_of(p)[0]) for p in (ev.Period("month", year, m) for m in range(1, 13))]
    whole = ev.Period("year", year)
    year_row, rows = row_of(whole)
    start, end = ev.window(whole, config.window_start_day)
    named = [p for p in individuals(session, start, end, ev.honour_lists(rows, config)["commended"], centres,
                                    {r.unit_id for r in rows}) if p["unit_id"] == unit_id]
    return {"unit": unit, "year": whole, "months": months, "total": year_row, "ranked": sum(r.rank is not None for r in rows),
            "individuals": named, "start": start, "end": end, "centre": centre}


def centres_for(session, user) -> list[Centre]:
    """The centres whose evaluation `user` may pick: every centre for the provincial centre's
    staff and for users without a centre; a city or county centre's own subtree otherwise."""
    allowed = centre_subtree(session, user.centre_id) if user.centre_id is not None else None
    return [c for c in centre_tree.all_(session) if allowed is None or c.id in allowed]


def pick_centre(session, user, typed: str | None) -> Centre | None:
    """The centre asked for (an id or a code) if `user` may read it; with nothing asked, the
    user's own centre (None: the province, every appeal). Raises NotFound for an unknown centre,
    Forbidden for one outside the user's subtree."""
    typed = (typed or "").strip()[:40]
    allowed = centres_for(session, user)
    if not typed:
        own = next((c for c in allowed if c.id == user.centre_id), None)
        return None if own is None or own.parent_id is None else own
    every = session.scalars(select(Centre)).all()
    found = next((c for c in every if str(c.id) == typed or c.code == typed), None)
    if found is None:
        raise NotFound(f"no centre {typed!r}")
    if found not in allowed:
        raise Forbidden("this centre's evaluation is outside your centre")
    return found
