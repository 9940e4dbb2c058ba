"""Changing the working-day calendar, as the API, the CLI and the administration page all do it:
the change with its reason and history and the recompute of every running appeal whose
deadlines it can move (hotline.recompute), in ONE transaction: saved as a whole or refused as a
whole, so a recompute that fails never leaves a calendar saved under deadlines it did not move;
and the alert administrators see while deadlines wait for a year's schedule."""
from datetime import date

from sqlalchemy import select

from workdays import admin
from workdays.calendar import WorkingCalendar

from . import recompute
from .models import Appeal


def override_day(db, day: date, working: bool, reason: str, actor) -> int:
    """Set one day off or on (a typhoon day off), then recompute the deadlines on or after it;
    returns how many appeals moved. Raises InvalidInput (name: no reason; day: out of range)."""
    with db.transaction() as session:
        admin.set_day(session, day, working, reason, actor)
        return recompute.recompute_all_in(session, day, actor)


def load_year(db, text: str, actor) -> dict:
    """Load a year's schedule (YAML), then recompute the deadlines from that year on; the
    summary of workdays.store.load_year with recomputed_appeals. Raises InvalidInput (file)."""
    with db.transaction() as session:
        summary = admin.load_year(session, text, actor)
        summary["recomputed_appeals"] = recompute.recompute_all_in(session, date(summary["year"], 1, 1), actor)
        return summary


def alerts(session, calendar: WorkingCalendar) -> list[dict]:
    """What administrators must act on: provisional deadlines waiting for a year's schedule."""
    rows = session.execute(select(Appeal.dispatch_due_at, Appeal.sign_for_due_at, Appeal.first_contact_due_at,
                                  Appeal.handling_due_at).where(Appeal.deadlines_provisional,
                                                                Appeal.closed_at.is_(None))).all()
    if not rows:
        return []
    years = sorted({due.astimezone(calendar.tz).year for row in rows for due in row if due is not None
                    and not calendar.is_published(due.astimezone(calendar.tz).year)})
    return [{"kind": "calendar_year_missing", "years": years, "provisional_appeals": len(rows),
             "message": f"{len(rows)} 件诉求的期限按工作日（周一至周五扣除《全国年节及纪念日放假办法》"
                        f"规定的法定节假日）临时计算，请加载 {'、'.join(map(str, years))} 年节假日安排"
                        "（hotline calendar load）"}]
