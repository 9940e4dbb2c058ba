"""Accountability records (问责记录, Art. 29–31): a supervisor's finding against a member of
the platform staff (Art. 29 items 1–4) or an organizer unit (Art. 30 items 1–7), the measure
taken (Art. 31), and the appeals behind it. Records are never edited or deleted; each is in
the history of every appeal it names.
"""
import re

from sqlalchemy import select

from runtime import clock, history
from runtime.errors import Forbidden, InvalidInput

from .access import PLATFORM_ROLES, can
from .models import AccountabilityRecord, Appeal, AppealUnit, OrganizerUnit, User
from .supervision import MAX_TEXT, find_appeal

ARTICLES = {"staff": tuple(f"29({n})" for n in range(1, 5)), "unit": tuple(f"30({n})" for n in range(1, 8))}
# Art. 31: minor circumstances, serious ones, and a suspected crime.
MEASURES = {"written_examination": "minor", "admonishing_education": "minor", "circulated_criticism": "minor",
            "efficiency_warning": "minor", "organizational_handling": "serious", "disciplinary_action": "serious",
            "judicial_transfer": "crime"}
MAX_APPEALS = 50


def record(db, data: dict, user) -> AccountabilityRecord:
    """Record a finding. `data`: subject (staff | unit), user (a platform username, for staff)
    or unit_id (for a unit), article, measure, finding, appeals (numbers or ids, separated by
    spaces or commas; a unit's must have been dispatched to it).

    Raises Forbidden (not a supervisor), InvalidInput (by field).
    """
    if not can(user, "record_accountability"):
        raise Forbidden("only supervisors record accountability")
    subject, errors = data.get("subject"), {}
    if subject not in ARTICLES:
        raise InvalidInput("choose whom the finding is against", {"subject": ["请选择问责对象"]})
    if data.get("article") not in ARTICLES[subject]:
        errors["article"] = ["请选择问责情形（第二十九条或第三十条所列）"]
    if data.get("measure") not in MEASURES:
        errors["measure"] = ["请选择问责方式"]
    finding = (data.get("finding") or "").replace("\x00", "").strip()
    if not finding or len(finding) > MAX_TEXT:
        errors["finding"] = ["请写明问责事实" if not finding else f"不能超过 {MAX_TEXT} 个字"]
    refs = [r for r in re.split(r"[\s,，、;；]+", str(data.get("appeals") or "")) if r]
    if not refs or len(refs) > MAX_APPEALS:
        errors["appeals"] = ["请填写相关诉求编号" if not refs else f"最多关联 {MAX_APPEALS} 件诉求"]
    with db.transaction() as session:
        target_user, unit_id = _subject(session, subject, data, errors)
        appeal_ids = []
        for ref in refs[:MAX_APPEALS]:
            try:
                appeal = find_appeal(session, ref)
            except InvalidInput:
                errors.setdefault("appeals", []).append(f"诉求编号不存在：{ref[:30]}")
                continue
            if unit_id and session.scalar(select(AppealUnit.id).where(
                    AppealUnit.appeal_id == appeal.id, AppealUnit.unit_id == unit_id).limit(1)) is None:
                errors.setdefault("appeals", []).append(f"诉求 {appeal.number} 未派发给该单位")
            elif appeal.id not in appeal_ids:
                appeal_ids.append(appeal.id)
        if errors:
            raise InvalidInput("the record is incomplete", errors)
        row = AccountabilityRecord(subject=subject, unit_id=unit_id, user_id=getattr(target_user, "id", None),
                                   article=data["article"], measure=data["measure"], finding=finding,
                                   appeal_ids=appeal_ids, created_by_id=user.id, created_at=clock.now())
        session.add(row)
        session.flush()
        for appeal_id in appeal_ids:
            history.record(session, "accountability_recorded", business_key=appeal_id, actor_id=user.id,
                           detail={"record_id": row.id, "subject": subject, "article": row.article,
                                   "measure": row.measure})
        return row


def _subject(session, subject, data, errors):
    """(the staff member, the unit id) the finding is against; errors by field."""
    if subject == "unit":
        unit_id = data.get("unit_id")
        if not isinstance(unit_id, int) or session.get(OrganizerUnit, unit_id) is None:
            errors["unit_id"] = ["请选择承办单位"]
            return None, None
        return None, unit_id
    username = str(data.get("user") or "").strip()[:50]
    found = session.scalar(select(User).where(User.username == username)) if username else None
    if found is None or found.role not in PLATFORM_ROLES:
        errors["user"] = ["请填写平台工作人员的用户名"]
    return found, None


def list_records(session, user, unit_id: int | None = None, limit: int = 200) -> list[dict]:
    """Newest first, with the names of the unit, the staff member and the recorder.
    Raises Forbidden (not a supervisor)."""
    if not can(user, "record_accountability"):
        raise Forbidden("only supervisors read accountability records")
    query = select(AccountabilityRecord)
    if unit_id is not None:
        query = query.where(AccountabilityRecord.unit_id == unit_id)
    rows = list(session.scalars(query.order_by(AccountabilityRecord.id.desc()).limit(limit)))
    user_ids = {r.user_id for r in rows} | {r.created_by_id for r in rows}
    people = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    units = dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)).all())
    appeal_ids = {a for r in rows for a in r.appeal_ids or []}
    numbers = dict(session.execute(select(Appeal.id, Appeal.number).where(Appeal.id.in_(appeal_ids))).all())
    return [{"record": r, "unit_name": units.get(r.unit_id), "user_name": people.get(r.user_id),
             "created_by": people.get(r.created_by_id),
             "appeals": [(a, numbers.get(a, str(a))) for a in r.appeal_ids or []]} for r in rows]


def units(session) -> list[tuple[int, str]]:
    """Active organizer units (id, name), for the forms and filters."""
    return list(session.execute(select(OrganizerUnit.id, OrganizerUnit.name).where(OrganizerUnit.active)
                                .order_by(OrganizerUnit.id)).all())
