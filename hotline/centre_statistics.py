"""Anonymised statistics per centre (Art. 26, 27): what observers from outside (deputies, CPPCC
members, efficiency supervisors, the media) may read of a period besides the evaluation table.
Counts only: how many appeals each centre accepted, by appeal type, channel and status, and
its on-time rate. No row here names an appellant, a phone, an appeal's text or a member of
staff, and nothing here can be drilled down to one appeal.

An appeal counts for the centre that accepted it (Art. 9: `origin_centre_id`, the holding
centre for rows made before centres had an origin). Terminated appeals are left out, as in the
evaluation. On time = completed without a handling overdue record, over completed on time plus
overdue (the evaluation's 按时办结率, hotline.evaluation.figures). Queries only.
"""
from sqlalchemy import and_, case, func, not_, select

from . import centres as centre_tree
from .models import Appeal, Centre, OverdueRecord
from .statuses import TERMINATED

ACCEPTING = func.coalesce(Appeal.origin_centre_id, Appeal.centre_id)
LATE = Appeal.id.in_(select(OverdueRecord.appeal_id).where(OverdueRecord.stage == "handling"))


def in_scope(session, centre_id: int | None) -> list[Centre]:
    """The centres a publication of `centre_id` covers: that centre and every centre under it
    (None: every centre), provincial first."""
    every = centre_tree.all_(session)
    if centre_id is None:
        return every
    children: dict = {}
    for c in every:
        children.setdefault(c.parent_id, []).append(c.id)
    wanted, todo = set(), [centre_id]
    while todo:
        current = todo.pop()
        if current not in wanted:
            wanted.add(current)
            todo.extend(children.get(current, []))
    return [c for c in every if c.id in wanted]


def per_centre(session, start, end, centre_id: int | None = None) -> list[dict]:
    """One entry per centre in scope, in the order of `in_scope`:
    {"centre_id", "code", "name", "name_en", "level", "total", "by_type", "by_channel",
    "by_status", "on_time", "late", "on_time_rate"} (the rate None without a denominator)."""
    scope = in_scope(session, centre_id)
    ids = [c.id for c in scope]
    where = [Appeal.accepted_at >= start, Appeal.accepted_at < end, Appeal.status != TERMINATED,
             ACCEPTING.in_(ids)]
    found = {c.id: {"centre_id": c.id, "code": c.code, "name": c.name, "name_en": c.name_en, "level": c.level,
                    "total": 0, "by_type": {}, "by_channel": {}, "by_status": {}, "on_time": 0, "late": 0}
             for c in scope}
    for column, key in ((Appeal.appeal_type, "by_type"), (Appeal.channel, "by_channel"),
                        (Appeal.status, "by_status")):
        for centre, value, n in session.execute(select(ACCEPTING, column, func.count()).where(*where)
                                                .group_by(ACCEPTING, column)):
            found[centre][key][value] = n
    closed = Appeal.closed_at.is_not(None)
    timely = (select(ACCEPTING, func.count(), func.coalesce(func.sum(case((and_(closed, not_(LATE)), 1), else_=0)), 0),
                     func.coalesce(func.sum(case((LATE, 1), else_=0)), 0))
              .where(*where).group_by(ACCEPTING))
    for centre, total, on_time, late in session.execute(timely):
        found[centre].update(total=total, on_time=on_time, late=late)
    for entry in found.values():
        counted = entry["on_time"] + entry["late"]
        entry["on_time_rate"] = entry["on_time"] / counted if counted else None
    return [found[i] for i in ids]
