"""The supervision register (督办台账, Art. 22, 24): items opened automatically or by a
supervisor, each with measures and a rectification deadline in working days, answered by the
unit's leader and closed (or sent back) by a supervisor.

Automatic items are opened by the diagram (a service task calling `open_supervision`, see
processes/appeal_handling.bpmn): dissatisfied again after a re-handle (Art. 22); returned more
often than the decision table's `max_returns` (the item is the new lead unit's: it must now
handle the appeal promptly); the handling limit overrun by the table's `supervision_limit`
(a boundary timer). Their measures and rectification limit are in processes/supervision.yaml.
An appeal has one open item at a time (Art. 22, never a pile): an automatic trigger while one is
open adds its reason to it; a supervisor opening a second by hand is refused (Conflict).
Each item runs open -> responded -> closed; a supervisor may send a response back (open). The
item's own process (hotline.escalation, processes/supervision.bpmn) decides which of these
actions it accepts at each moment, and escalates the item when its deadline passes (Art. 24).
Every change is one transaction with its history row (appeal_id set).
"""
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from runtime import clock, history
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound
from runtime.models import Notification
from workdays import store as calendar_store

from . import attachments, centres, escalation, texts
from .access import ORGANIZER_ROLES, can
from .config import PROCESSES_DIR
from .models import Appeal, Attachment, OrganizerUnit, SupervisionItem, User

REASONS = ("repeat_dissatisfaction", "long_overdue", "repeated_returns", "return_visit_problem", "other")
REASON_NAMES = {"repeat_dissatisfaction": "重办后仍不满意", "long_overdue": "办理严重超期", "repeated_returns": "多次退回",
                "return_visit_problem": "回访发现问题", "other": "其他"}  # zh-CN, for notifications
MEASURES = ("special_report", "rectification_notice", "supervision_suggestion", "interview_reminder")
STATUSES = ("open", "responded", "closed")
MAX_TEXT = 2000
MAX_DAYS = 60


@cache
def config() -> dict:
    data = yaml.safe_load((PROCESSES_DIR / "supervision.yaml").read_text(encoding="utf-8"))
    return {"rectification_days": int(data["rectification_days"]), "auto_measures": list(data["auto_measures"])}


def _open(session, appeal, reason, source, now, cal, *, actor_id=None, instance_id=None, note=None,
          measures=None, days=None) -> SupervisionItem:
    """Add an item against the appeal's lead unit, record it and tell the unit."""
    days = days or config()["rectification_days"]
    item = SupervisionItem(appeal_id=appeal.id, unit_id=appeal.lead_unit_id, reason=reason, reasons=f",{reason},",
                           source=source, note=note, measures=measures or config()["auto_measures"],
                           rectification_days=days, rectification_due_at=cal.add_working_days(now, days).at,
                           status="open", opened_at=now, opened_by_id=actor_id, escalations=[])
    session.add(item)
    session.flush()
    history.record(session, "supervision_opened", business_key=appeal.id, instance_id=instance_id, actor_id=actor_id,
                   detail={"item_id": item.id, "reason": reason, "source": source, "unit_id": item.unit_id})
    escalation.start(session, item, session.get(User, actor_id) if actor_id else None)
    if item.unit_id:
        text = (f"诉求 {appeal.number} 已列入督办，请于 {item.rectification_due_at.astimezone(cal.tz):%Y-%m-%d} "
                "前整改并反馈。")
        session.add(Notification(business_key=appeal.id, channel="in_app", recipient=f"unit:{item.unit_id}", body=text))
        session.add(Notification(business_key=appeal.id, channel="sms", recipient=f"unit:{item.unit_id}:leader",
                                 body=text))
    return item


def open_of(session, appeal_id: int) -> SupervisionItem | None:
    """The appeal's item that is not closed yet (there is at most one)."""
    return session.scalar(select(SupervisionItem).where(
        SupervisionItem.appeal_id == appeal_id, SupervisionItem.status != "closed")
        .order_by(SupervisionItem.id).limit(1).with_for_update())


def open_auto(ctx, reason: str, note: str | None = None) -> SupervisionItem:
    """For the diagram's service task (a hotline Context): see open_or_add."""
    return open_or_add(ctx.session, ctx.appeal, reason, "auto", ctx.now, ctx.calendar, note=note,
                       actor_id=getattr(ctx.actor, "id", None), instance_id=ctx.instance_id)


def open_or_add(session, appeal, reason: str, source: str, now, cal, *, note=None, actor_id=None,
                instance_id=None) -> SupervisionItem:
    """An item opened without a supervisor's choices (by the diagram, or by a return visit's
    finding), or, while the appeal has an open one, the reason added to that one (Art. 22: one
    item, never a pile), recorded in history and told to the supervisors. Returns the item."""
    item = open_of(session, appeal.id)
    if item is None:
        return _open(session, appeal, reason, source, now, cal, note=note, actor_id=actor_id,
                     instance_id=instance_id)
    if reason not in item.reason_list:
        item.reasons = ",".join(["", *item.reason_list, reason, ""])
        history.record(session, "supervision_reason_added", business_key=appeal.id, instance_id=instance_id,
                       actor_id=actor_id, detail={"item_id": item.id, "reason": reason, "note": note,
                                                  "source": source})
        session.add(Notification(business_key=appeal.id, channel="in_app", recipient="platform:supervisor", body=(
            f"诉求 {appeal.number} 的督办事项 #{item.id} 尚未办结，新增督办原因：{REASON_NAMES.get(reason, reason)}。")))
    return item


def find_appeal(session, ref) -> Appeal:
    """An appeal by its number (FJ20261130-000123) or id. Raises InvalidInput (field `appeal`)."""
    ref = str(ref or "").strip()
    appeal = None
    if ref.isdigit() and int(ref) < 2**31:
        appeal = session.get(Appeal, int(ref))
    elif ref:
        appeal = session.scalar(select(Appeal).where(Appeal.number == ref.upper()))
    if appeal is None:
        raise InvalidInput("unknown appeal", {"appeal": ["诉求编号不存在"] if ref else ["请填写诉求编号"]})
    return appeal


def open_item(db, data: dict, user) -> SupervisionItem:
    """A supervisor opens an item by hand. `data`: appeal (number or id), reason, measures,
    note, rectification_days. Raises Forbidden, InvalidInput (by field), Conflict (the appeal
    has an open item: one per appeal, reason `supervision_open`)."""
    if not can(user, "supervise"):
        raise Forbidden("only supervisors open supervision items")
    errors = {}
    if data.get("reason") not in REASONS:
        errors["reason"] = ["请选择督办原因"]
    measures = data.get("measures") or []
    if not measures or not isinstance(measures, list) or any(m not in MEASURES for m in measures):
        errors["measures"] = ["请至少选择一项督办措施"]
    days = data.get("rectification_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        errors["rectification_days"] = [f"整改时限应为 1 至 {MAX_DAYS} 个工作日"]
    note = (data.get("note") or "").replace("\x00", "").strip()
    if not note:
        errors["note"] = ["请写明督办事由"]
    elif len(note) > MAX_TEXT:
        errors["note"] = [f"不能超过 {MAX_TEXT} 个字"]
    with db.transaction() as session:
        try:
            appeal = find_appeal(session, data.get("appeal"))
            if appeal.lead_unit_id is None:
                raise InvalidInput("not dispatched", {"appeal": ["该诉求尚未派发承办单位，无法督办"]})
        except InvalidInput as err:
            errors.update(err.fields)
        if errors:
            raise InvalidInput("the item is incomplete", errors)
        if (pending := open_of(session, appeal.id)) is not None:
            raise Conflict(f"the appeal already has an open supervision item (#{pending.id}); one per appeal",
                           "supervision_open")
        try:
            return _open(session, appeal, data["reason"], "manual", clock.now(), calendar_store.build(session),
                         actor_id=user.id, note=note, measures=[m for m in MEASURES if m in measures], days=days)
        except IntegrityError as err:  # opened at the same moment by someone else: one live process per appeal
            raise Conflict("the appeal already has an open supervision item; one per appeal",
                           "supervision_open") from err


def respond(db, item_id: int, text: str, attachment_ids: list[int], user) -> SupervisionItem:
    """The unit's leader reports the rectification (text, and files of the appeal).
    Raises NotFound, Forbidden (not that unit's leader), Conflict (its process does not wait for
    a response now: answered already, or closed), InvalidInput."""
    with db.transaction() as session:
        item = escalation.lock(session, item_id)
        if not can(user, "respond_supervision") or user.unit_id != item.unit_id:
            raise Forbidden("only the unit's leader responds to its supervision items")
        text = texts.required(text, "response", "请填写整改情况", MAX_TEXT)
        ids = sorted(set(attachment_ids or []))
        if not attachments.all_belong(session, item.appeal_id, ids):
            raise InvalidInput("unknown attachment", {"attachment_ids": ["附件不属于该诉求"]})
        escalation.act(session, item, "respond", user)
        now = clock.now()
        item.status, item.unit_response, item.responded_at, item.responded_by_id = "responded", text, now, user.id
        history.record(session, "supervision_responded", business_key=item.appeal_id, actor_id=user.id,
                       instance_id=item.instance_id, detail={"item_id": item.id, "response": text, "attachment_ids": ids})
        session.add(Notification(business_key=item.appeal_id, channel="in_app", recipient="platform:supervisor",
                                 body=f"督办事项 #{item.id} 承办单位已反馈整改情况，请审核。"))
        return item


def close(db, item_id: int, note: str, user) -> SupervisionItem:
    """A supervisor closes the item (usually after the unit's response); its escalation ends.
    Raises NotFound, Forbidden, Conflict (already closed), InvalidInput (no closing note)."""
    return _decide(db, item_id, note, user, "closed")


def reopen(db, item_id: int, note: str, user) -> SupervisionItem:
    """A supervisor sends the unit's response back: the item is open again, its escalation
    resumes at the level reached. Raises NotFound, Forbidden, Conflict (not responded),
    InvalidInput (no note)."""
    return _decide(db, item_id, note, user, "open")


def _decide(db, item_id, note, user, target) -> SupervisionItem:
    if not can(user, "supervise"):
        raise Forbidden("only supervisors close or send back supervision items")
    with db.transaction() as session:
        item = escalation.lock(session, item_id)
        note = texts.required(note, "note", "请填写办结意见" if target == "closed" else "请写明退回理由", MAX_TEXT)
        escalation.act(session, item, "close" if target == "closed" else "send_back", user)
        item.status = target
        if target == "closed":
            item.closing_note, item.closed_at, item.closed_by_id = note, clock.now(), user.id
        else:
            session.add(Notification(business_key=item.appeal_id, channel="in_app", recipient=f"unit:{item.unit_id}",
                                     body=f"督办事项 #{item.id} 的整改反馈被退回：{note}"))
        history.record(session, "supervision_closed" if target == "closed" else "supervision_sent_back",
                       business_key=item.appeal_id, instance_id=item.instance_id, actor_id=user.id,
                       detail={"item_id": item.id, "note": note})
        return item


@dataclass
class Filters:
    status: str | None = None
    unit_id: int | None = None
    reason: str | None = None  # among the item's reasons
    escalation: str | None = None  # the last level issued
    overdue: bool = False  # open past its rectification deadline
    before_id: int | None = None
    limit: int = 100


def _readable(user):
    if not can(user, "read_supervision") or (user.role in ORGANIZER_ROLES and user.unit_id is None):
        raise Forbidden("your role has no access to the supervision register")


def list_items(session, user, filters: Filters, now: datetime | None = None) -> list[dict]:
    """Newest first, keyset-paged by id; units see only their own items. Raises Forbidden."""
    _readable(user)
    query = (select(SupervisionItem, Appeal.number, Appeal.title, OrganizerUnit.name)
             .join(Appeal, Appeal.id == SupervisionItem.appeal_id)
             .outerjoin(OrganizerUnit, OrganizerUnit.id == SupervisionItem.unit_id))
    unit_id = user.unit_id if user.role in ORGANIZER_ROLES else filters.unit_id
    if unit_id is not None:
        query = query.where(SupervisionItem.unit_id == unit_id)
    centre = None if user.role in ORGANIZER_ROLES else centres.appeal_condition(session, user)
    if centre is not None:  # a city's or county's supervisors: their centre's appeals
        query = query.where(centre)
    if filters.status:
        query = query.where(SupervisionItem.status == filters.status)
    if filters.reason:
        query = query.where(SupervisionItem.reasons.contains(f",{filters.reason},", autoescape=True))
    if filters.escalation:
        query = query.where(SupervisionItem.escalation_level == filters.escalation)
    if filters.overdue:
        query = query.where(SupervisionItem.status == "open",
                            SupervisionItem.rectification_due_at < (now or clock.now()))
    if filters.before_id:
        query = query.where(SupervisionItem.id < filters.before_id)
    rows = session.execute(query.order_by(SupervisionItem.id.desc()).limit(filters.limit))
    return [{"item": item, "number": number, "title": title, "unit_name": unit} for item, number, title, unit in rows]


def counts(session, user) -> dict[str, int]:
    """Items per status as the user may see them (the register's summary). Raises Forbidden."""
    _readable(user)
    query = select(SupervisionItem.status, func.count()).group_by(SupervisionItem.status)
    if user.role in ORGANIZER_ROLES:
        query = query.where(SupervisionItem.unit_id == user.unit_id)
    else:
        centre = centres.appeal_condition(session, user)
        if centre is not None:
            query = query.join(Appeal, Appeal.id == SupervisionItem.appeal_id).where(centre)
    return dict(session.execute(query).all())


def get_item(session, item_id: int, user) -> dict:
    """One item with its appeal, unit and history (every change of this item, oldest first).
    Raises NotFound, Forbidden (another unit's item)."""
    _readable(user)
    item = session.get(SupervisionItem, item_id)
    if item is None:
        raise NotFound(f"supervision item {item_id} does not exist")
    if user.role in ORGANIZER_ROLES and item.unit_id != user.unit_id:
        raise Forbidden("this item belongs to another unit")
    if user.role not in ORGANIZER_ROLES and not centres.may_read(session, user, session.get(Appeal, item.appeal_id)):
        raise Forbidden("this item belongs to another centre")
    events = [e for e in history.for_key(session, item.appeal_id)
              if e.action.startswith("supervision_") and (e.detail or {}).get("item_id") == item.id]
    files = list(session.scalars(select(Attachment).where(Attachment.appeal_id == item.appeal_id)
                                 .order_by(Attachment.id)))
    ids = {e.actor_id for e in events} | {item.opened_by_id, item.responded_by_id, item.closed_by_id}
    people = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids - {None}))).all())
    return {"item": item, "appeal": session.get(Appeal, item.appeal_id),
            "unit": session.get(OrganizerUnit, item.unit_id) if item.unit_id else None,
            "history": events, "attachments": files, "people": people}
