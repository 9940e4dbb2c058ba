"""Publishing a period's evaluation (Art. 26, 27): a process owner decides when a period is
published, for the whole province or for one centre (with the centres under it). Publishing
freezes the figures: the ranking table as the exports write it (hotline.exports.table), the
report's summary and the anonymised statistics per centre (hotline.centre_statistics) are
stored as they were at that moment, and that is what the civilization office receives and
observers read. Recomputing later never changes them; `difference` lists every cell that the
data would give differently now (an appeal re-evaluated, a late closure).

Rules: only `publish_evaluation`; only after the period has ended; once per period and centre
(a second publication is a Conflict); a city or county owner publishes their own centre (and
those under it), the province-wide table is the provincial centre's.

The civilization office (every active `civilization_office` user of the published centre, of a
centre above it, or of none) gets the period's summary in the app and by e-mail through the
outbox. Users have no e-mail address of their own here, so an e-mail is addressed like the SMS
to a unit's leader is: `user:<username>` on channel `email`, which the gateway resolves to the
account's mailbox (runtime.outbox sends channel, recipient and body as they are).
"""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from runtime import clock, history
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound
from runtime.models import Notification
from workdays.calendar import TZ

from . import centre_statistics, centres, exports
from . import evaluation as ev
from . import evaluation_report as reports
from .access import require
from .models import Centre, EvaluationPublication, User

RECIPIENT_ROLE = "civilization_office"
TOLERANCE = 1e-9  # rates are floats; a difference smaller than this is none


def snapshot(session, period: ev.Period, centre: Centre | None, config: ev.Config) -> dict:
    """The figures of `period` now (open appeals past their deadline count as late as of now),
    as plain JSON values: the form a publication keeps. Raises ProcessError for a bad
    configuration."""
    report = reports.unit_report(session, period, config, centre_id=centre.id if centre else None,
                                 as_of=clock.now())
    table = exports.table(report)
    unit_ids = [r.unit_id for r in report.rows] + [None]  # the total row last (exports.table)
    total = report.total.figures
    return {
        "period": period.key, "kind": period.kind, "start": report.start.astimezone(TZ).date().isoformat(),
        "last_day": report.last_day.isoformat(),
        "centre": {"id": centre.id, "name": centre.name, "name_en": centre.name_en} if centre else None,
        "columns": [{"key": key, "title": title, "kind": kind} for title, key, kind in exports.COLUMNS],
        "rows": [{"unit_id": u, "cells": cells} for u, cells in zip(unit_ids, table, strict=True)],
        "summary": {"volume": total["volume"], "on_time_rate": total["on_time_rate"],
                    "satisfaction_rate": total["satisfaction_rate"], "resolution_rate": total["resolution_rate"],
                    "score": total["score"], "ranked": report.ranked,
                    "top": [r.name for r in report.rows if r.rank is not None][:3]},
        "statistics": centre_statistics.per_centre(session, report.start, report.end,
                                                   centre.id if centre else None),
    }


def publish(db, period_text: str, centre_id: int | None, actor) -> EvaluationPublication:
    """Freeze and publish `period_text` ('2026-11', '2026-Q4', '2026') for the province
    (`centre_id` None) or one centre, in one transaction with its history record and the
    civilization office's notifications. Raises Forbidden (no `publish_evaluation`, or a centre
    outside the actor's), InvalidInput (bad period, a period not ended, unknown centre),
    Conflict (published already), ProcessError (bad configuration)."""
    require(actor, "publish_evaluation")
    period = ev.parse_period(period_text)
    config = ev.load_config()
    _start, end = ev.window(period, config.window_start_day)
    if end > clock.now():
        raise InvalidInput("the period has not ended", {"period": ["考核期尚未结束，结束后方可发布"]},
                           reason="period_not_ended")
    with db.transaction() as session:
        centre = session.get(Centre, centre_id) if centre_id is not None else None
        if centre_id is not None and centre is None:
            raise InvalidInput("unknown centre", {"centre": ["没有这个中心"]})
        _may_publish(session, actor, centre)
        if find(session, period.key, centre_id) is not None:
            raise Conflict(f"{period.key} is published already", "already_published")
        frozen = snapshot(session, period, centre, config)
        publication = EvaluationPublication(period=period.key, centre_id=centre_id, published_at=clock.now(),
                                            published_by_id=actor.id, snapshot=frozen)
        session.add(publication)
        try:
            session.flush()
        except IntegrityError as err:  # published at the same moment by someone else
            raise Conflict(f"{period.key} is published already", "already_published") from err
        history.record(session, "evaluation_published", actor_id=actor.id,
                       detail={"publication_id": publication.id, "period": period.key, "centre_id": centre_id})
        _notify(session, publication, frozen)
        session.expunge(publication)
        return publication


def _may_publish(session, actor, centre: Centre | None) -> None:
    if centres.sees_all(session, actor):
        return
    if centre is None or actor.centre_id not in _ancestry(session, centre.id):
        raise Forbidden("a centre publishes its own evaluation and that of the centres under it", "other_centre")


def _ancestry(session, centre_id: int) -> list[int]:
    """The centre and every centre above it, nearest first."""
    parents = dict(session.execute(select(Centre.id, Centre.parent_id)).all())
    chain = []
    while centre_id is not None and centre_id not in chain:
        chain.append(centre_id)
        centre_id = parents.get(centre_id)
    return chain


def summary_text(frozen: dict) -> str:
    """The report's summary as the civilization office reads it in a message (zh-CN)."""
    s = frozen["summary"]
    scope = frozen["centre"]["name"] if frozen["centre"] else "全省"

    def pct(v):
        return "—" if v is None else f"{100 * v:.1f}%"
    top = "、".join(s["top"]) or "暂无"
    return (f"{scope} {frozen['period']} 考核评价已发布（{frozen['start']} 至 {frozen['last_day']}）："
            f"办件量 {s['volume']}，按时办结率 {pct(s['on_time_rate'])}，解决率 {pct(s['resolution_rate'])}，"
            f"满意率 {pct(s['satisfaction_rate'])}，综合得分 {'—' if s['score'] is None else s['score']}；"
            f"参与排名单位 {s['ranked']} 个，前列：{top}。")


def _notify(session, publication: EvaluationPublication, frozen: dict) -> None:
    above = set(_ancestry(session, publication.centre_id)) if publication.centre_id is not None else None
    text = summary_text(frozen)
    for username, centre_id in session.execute(select(User.username, User.centre_id).where(
            User.role == RECIPIENT_ROLE, User.active.is_(True)).order_by(User.id)):
        if above is not None and centre_id is not None and centre_id not in above:
            continue
        for channel in ("in_app", "email"):
            session.add(Notification(channel=channel, recipient=f"user:{username}", body=text))


def find(session, period_key: str, centre_id: int | None) -> EvaluationPublication | None:
    centre = EvaluationPublication.centre_id
    return session.scalar(select(EvaluationPublication).where(
        EvaluationPublication.period == period_key, centre.is_(None) if centre_id is None else centre == centre_id))


def get(session, publication_id: int) -> EvaluationPublication:
    """Raises NotFound."""
    found = session.get(EvaluationPublication, publication_id)
    if found is None:
        raise NotFound(f"no publication {publication_id}")
    return found


def list_all(session) -> list[dict]:
    """Every publication, newest period first: {"publication", "publisher"} (the display name)."""
    rows = session.execute(select(EvaluationPublication, User.display_name)
                           .join(User, User.id == EvaluationPublication.published_by_id)
                           .order_by(EvaluationPublication.period.desc(), EvaluationPublication.id.desc())).all()
    return [{"publication": p, "publisher": name} for p, name in rows]


# -- what changed since -----------------------------------------------------------------------

def cells(frozen: dict) -> dict:
    """Every figure of a snapshot by (section, row, column): the table's by unit id ("total" for
    the last row), the statistics' by centre id."""
    keys = [c["key"] for c in frozen["columns"]]
    found = {}
    for row in frozen["rows"]:
        for key, value in zip(keys, row["cells"], strict=True):
            found[("table", row["unit_id"] if row["unit_id"] is not None else "total", key)] = value
    for entry in frozen["statistics"]:
        for key in ("total", "on_time", "late", "on_time_rate"):
            found[("statistics", entry["centre_id"], key)] = entry[key]
        for group in ("by_type", "by_channel", "by_status"):
            for value, n in entry[group].items():
                found[("statistics", entry["centre_id"], f"{group}.{value}")] = n
    return found


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(a - b) <= TOLERANCE
    return a == b


def difference(session, publication: EvaluationPublication, config: ev.Config | None = None) -> list[dict]:
    """Recompute the publication's period now and list every cell that differs from the frozen
    one: {"section", "row", "row_label", "column", "frozen", "now"}, table cells first, in the
    frozen table's order. A cell missing on one side (a unit with no row then) counts as None
    there, and a count missing from a statistics group as 0. Raises ProcessError."""
    config = config or ev.load_config()
    centre = session.get(Centre, publication.centre_id) if publication.centre_id is not None else None
    frozen, now = publication.snapshot, snapshot(session, ev.parse_period(publication.period), centre, config)
    before, after = cells(frozen), cells(now)
    labels = {}
    for snap in (now, frozen):  # the frozen name wins where both have one
        names = {c["key"]: i for i, c in enumerate(snap["columns"])}
        labels.update({("table", r["unit_id"] if r["unit_id"] is not None else "total"): r["cells"][names["name"]]
                       for r in snap["rows"]})
        labels.update({("statistics", e["centre_id"]): e["name"] for e in snap["statistics"]})
    order = list(before) + [k for k in after if k not in before]
    changed = []
    for key in order:
        missing = 0 if key[0] == "statistics" and "." in key[2] else None
        old, new = before.get(key, missing), after.get(key, missing)
        if key[2] != "name" and not _same(old, new):
            changed.append({"section": key[0], "row": key[1], "row_label": labels.get(key[:2], ""),
                            "column": key[2], "frozen": old, "now": new})
    return changed


def last_ended(config: ev.Config, kind: str = "month") -> ev.Period:
    """The latest period of `kind` that has ended (what the publish form offers first)."""
    return ev.default_period(clock.now(), config.window_start_day, kind)
