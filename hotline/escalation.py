"""Art. 24: a supervision item escalates while the unit does not answer it.

Each item runs a process of its own, `supervision` (processes/supervision.bpmn), started in
the transaction that opens the item, with the appeal's id as business key, so its history is
on the appeal's timeline. The diagram owns the order: it waits for the unit's response until
the rectification deadline, then issues a 督办通知 (notice), a 整改通知书 (rectification
notice) and a 约谈提醒 (interview reminder), each with a new date; a response, or closing by
a supervisor, ends the escalation; a response sent back resumes it at the level reached.
Python adds what the diagram asks for: each level's date, from the limits in
processes/supervision.yaml counted in working days (`issue`, called by the diagram's service
tasks), and the register's actions as the messages the process waits for (`act`): an action
the process is not waiting for now is refused as a Conflict.

Items opened before the process was deployed have no instance: their actions follow the
register's own rules (LEGACY) and they do not escalate.
"""
from functools import cache

import yaml
from sqlalchemy import select

from runtime import instances, messages
from runtime.errors import Conflict, NotFound, ProcessError
from runtime.models import ProcessInstance
from workdays import deadlines

from .config import PROCESSES_DIR
from .models import SupervisionItem

PROCESS = "supervision"
MESSAGES = {"respond": "supervision_response", "send_back": "supervision_send_back", "close": "supervision_close"}
LEGACY = {"respond": ("open",), "send_back": ("responded",), "close": ("open", "responded")}
# how the unit is told of each level (zh-CN, it goes out by SMS); the order of the levels is the diagram's
NOTICES = {
    "notice": "督办事项 #{item} 未在整改期限内反馈，现发出督办通知，请于 {date} 前整改并反馈。",
    "rectification_notice": "督办事项 #{item} 督办通知期限已过仍未反馈，现下发整改通知书，请于 {date} 前整改到位并反馈。",
    "interview_reminder": "督办事项 #{item} 整改通知书期限已过仍未反馈，请单位负责人于 {date} 前接受约谈（约谈提醒）。",
}


@cache
def limits() -> dict[str, str]:
    """{level: limit} of processes/supervision.yaml's escalation_limits. Raises ValueError for a
    limit outside the deadline grammar ("3wd")."""
    data = yaml.safe_load((PROCESSES_DIR / "supervision.yaml").read_text(encoding="utf-8"))
    found = {str(level): str(limit) for level, limit in (data.get("escalation_limits") or {}).items()}
    wrong = [f"{level}: {limit}" for level, limit in found.items() if not deadlines.is_limit(limit)]
    if wrong:
        raise ValueError(f"processes/supervision.yaml: escalation limits not in the deadline grammar: {wrong}")
    return found


def start(session, item: SupervisionItem, actor) -> int | None:
    """Start the item's process, in the transaction that opened the item; returns its instance id,
    or None when the deployed version has no supervision process (deployed before it existed).
    Raises ProcessError."""
    data = {"item_id": item.id, "unit_id": item.unit_id,
            "rectification_due_at": item.rectification_due_at.isoformat()}
    try:
        row = instances.start(session, item.appeal_id, actor, data, PROCESS)
    except NotFound:
        return None
    item.instance_id = row.id
    return row.id


def lock(session, item_id: int) -> SupervisionItem:
    """The item, locked after its instance (the order a firing timer takes them in, so the two
    never wait for each other). Raises NotFound."""
    item = session.get(SupervisionItem, item_id)
    if item is None:
        raise NotFound(f"supervision item {item_id} does not exist")
    if item.instance_id is not None:
        session.execute(select(ProcessInstance.id).where(ProcessInstance.id == item.instance_id).with_for_update())
    session.refresh(item, with_for_update=True)
    return item


def act(session, item: SupervisionItem, action: str, actor) -> None:
    """Deliver a register action (respond, send_back, close) to the item's process, in the caller's
    transaction. Raises Conflict (the process is not waiting for it now), ProcessError."""
    if item.instance_id is None:
        if item.status not in LEGACY[action]:
            raise Conflict(f"the item is {item.status}", "supervision_state")
        return
    try:
        messages.deliver(session, item.instance_id, MESSAGES[action], actor)
    except Conflict as err:
        raise Conflict(f"the item is {item.status}; its process does not take '{action}' now",
                       "supervision_state") from err


def issue(ctx, item_id: int, level: str) -> dict:
    """For the diagram's service tasks (a hotline Context): issue escalation `level` on the item,
    with its date (the level's limit from now, in working days), recorded in history, kept on the
    item and sent to the unit and its leader. Returns {"level", "due_at"} for the diagram's timer.
    Raises ProcessError (no such item, or no limit for the level)."""
    item = ctx.session.get(SupervisionItem, item_id)
    if item is None or level not in limits():
        raise ProcessError(f"cannot escalate supervision item {item_id} to '{level}': "
                           "no such item, or no limit for it in processes/supervision.yaml")
    due = deadlines.due(ctx.calendar, ctx.now, limits()[level]).at
    entry = {"level": level, "issued_at": ctx.now.isoformat(), "due_at": due.isoformat()}
    item.escalations = [*(item.escalations or []), entry]
    item.escalation_level = level
    ctx.record("supervision_escalated", item_id=item.id, level=level, due_at=entry["due_at"], unit_id=item.unit_id)
    template = NOTICES.get(level, "督办事项 #{item} 已升级督办，请于 {date} 前反馈。")
    text = f"诉求 {ctx.appeal.number}：" + template.format(item=item.id, date=f"{due.astimezone(ctx.calendar.tz):%Y-%m-%d}")
    if item.unit_id:
        ctx.notify("in_app", f"unit:{item.unit_id}", text)
        ctx.notify("sms", f"unit:{item.unit_id}:leader", text)
    ctx.notify("in_app", "platform:supervisor", text)
    return {"level": level, "due_at": entry["due_at"]}
