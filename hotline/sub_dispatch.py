"""Second-level dispatch (二级派单, issue 16): a district or county government leading an appeal
(OrganizerUnit kind government, its region of level district) passes it on to one of its own
subordinate units (a bureau, town or street office below it in the unit tree,
OrganizerUnit.parent_id), within its own limits. What the diagram processes/sub_handling.bpmn
calls; the order of the steps is that diagram's.

- The government stays the lead (Appeal.lead_unit_id) and answers for the appeal in
  evaluation, which counts AppealUnit rows of role lead and co only. The subordinate unit gets
  an AppealUnit row of role "sub": while it is active the unit's staff see the appeal
  (hotline.appeals.can_view, with the appellant masked as for any organizer); it is made
  inactive when the unit returns the appeal or the government accepts its reply.
- Its limits come from the time-limit table's sub_sign_for_limit and sub_handling_limit
  columns, counted from the second-level dispatch and capped at the government's handling
  deadline (sign-for also at the unit's own reply deadline): the second level can never run
  past the limit the platform gave the government. They are kept in the `deadlines` variable
  (stages sub_sign_for and sub_handling, hotline.time_limits.SUB_STAGES), which gives the
  unit's tasks their due times. A send-back leaves the reply deadline as it was (like a
  closure review's rejection: the clock keeps running). They have no basis entry, so a
  calendar change does not recompute them. Each has a reminder and an overdue mark of its own
  (the diagram's timers); the overdue is recorded against the unit under its own stage name,
  which the evaluation's indicators do not read.
"""
import json
from datetime import datetime

from sqlalchemy import select, update

from runtime.errors import InvalidInput
from runtime.models import UserTask
from workdays import deadlines

from . import units as org_units
from .models import AppealUnit, OrganizerUnit, OverdueRecord, Region
from .stages import LABELS, warning_time

ROLE = "sub"
GOVERNMENT = "government"
DISTRICT = "district"  # Region.level of a district's or county's region


def may_dispatch_on(session, unit: OrganizerUnit | None) -> bool:
    """A district or county government (a unit of kind government in a region of level district)
    may dispatch on; a city's or the province's goes through the platform's own dispatch."""
    return unit is not None and unit.active and unit.kind == GOVERNMENT and \
        session.get(Region, unit.region_id).level == DISTRICT


def subordinate_units(session, unit_id: int | None) -> list[OrganizerUnit]:
    """The active units below `unit_id` in the unit tree (children, their children, ...), by
    name: what a government may dispatch on to. Empty unless may_dispatch_on the unit."""
    top = session.get(OrganizerUnit, unit_id) if unit_id else None
    if not may_dispatch_on(session, top):
        return []
    units = session.scalars(select(OrganizerUnit).where(OrganizerUnit.active, OrganizerUnit.id != top.id))
    return sorted((u for u in units if top.id in org_units.ancestors(session, u)), key=lambda u: u.name)


def dispatch_to_sub_unit(ctx, appeal_id, sub_unit_id, sub_sign_for_limit, sub_handling_limit, note=None,
                         current=None):
    """The government's leader passes the appeal on to `sub_unit_id`: refused (400 on
    sub_unit_id) unless the lead unit is a district or county government and the unit is active
    below it. Records the "sub" row, computes the second-level deadlines into a copy of
    `current` (returned) and tells the unit."""
    appeal = ctx.appeal
    allowed = {u.id: u for u in subordinate_units(ctx.session, appeal.lead_unit_id)}
    if sub_unit_id not in allowed:
        lead = ctx.session.get(OrganizerUnit, appeal.lead_unit_id) if appeal.lead_unit_id else None
        message = (f"下级单位须为{lead.name}所属、在用的单位" if may_dispatch_on(ctx.session, lead)
                   else "只有区县人民政府可以二级派单")
        raise InvalidInput("not a subordinate unit of the lead government", {"sub_unit_id": [message]},
                           "not_subordinate_unit")
    unit = allowed[sub_unit_id]
    result = json.loads(json.dumps(current or {}))
    cap = appeal.handling_due_at
    reply_due = _stage(ctx, result, "sub_handling", sub_handling_limit, cap)
    sign_due = _stage(ctx, result, "sub_sign_for", sub_sign_for_limit, reply_due or cap)  # reply_due <= cap
    ctx.session.execute(update(AppealUnit).where(AppealUnit.appeal_id == appeal.id, AppealUnit.role == ROLE,
                                                 AppealUnit.active).values(active=False))
    appeal.units.append(AppealUnit(unit_id=unit.id, role=ROLE, assigned_at=ctx.now))
    tz = ctx.calendar.tz
    ctx.notify("in_app", f"unit:{unit.id}", f"二级派单 {appeal.number}：{appeal.title}，请"
               + (f"于 {sign_due.astimezone(tz):%Y-%m-%d %H:%M} 前签收，" if sign_due else "及时签收，")
               + (f"{reply_due.astimezone(tz):%Y-%m-%d %H:%M} 前" if reply_due else "按时")
               + "向上级政府答复" + (f"。交办意见：{note}" if note else ""))
    if appeal.urgent:
        ctx.notify("phone_call", f"unit:{unit.id}", f"紧急诉求 {appeal.number} 已二级派单，请立即签收")
    ctx.record("sub_dispatched", unit_id=unit.id, unit_name=unit.name, note=note or None,
               sub_sign_for_due_at=result.get("sub_sign_for"), sub_handling_due_at=result.get("sub_handling"))
    return result


def record_sub_reply(ctx, appeal_id, sub_unit_id):
    """The subordinate unit replied to the government; its leader is told to review it."""
    lead = ctx.appeal.lead_unit_id
    ctx.notify("in_app", f"unit:{lead}:leader", f"诉求 {ctx.appeal.number} 的下级单位已答复，请审核")
    ctx.record("sub_replied", unit_id=sub_unit_id)


def send_back_to_sub_unit(ctx, appeal_id, sub_unit_id, reason):
    """The government sends the reply back with its reasons; the unit handles it again within
    the reply deadline already running."""
    ctx.notify("in_app", f"unit:{sub_unit_id}", f"诉求 {ctx.appeal.number} 的答复被上级政府退回重办：{reason}")
    ctx.record("sub_sent_back", unit_id=sub_unit_id, reason=reason)


def release_sub_unit(ctx, appeal_id, sub_unit_id, outcome, reason=None):
    """The second level ends: the government accepted the reply (`outcome` "accepted") or the
    unit returned the appeal at sign-for ("returned", with its reason). The unit no longer
    holds the appeal; the government goes on with its own result and reply."""
    ctx.session.execute(update(AppealUnit).where(
        AppealUnit.appeal_id == ctx.appeal.id, AppealUnit.unit_id == sub_unit_id, AppealUnit.role == ROLE,
        AppealUnit.active).values(active=False))
    lead = ctx.appeal.lead_unit_id
    if outcome == "returned":
        ctx.notify("in_app", f"unit:{lead}:leader", f"诉求 {ctx.appeal.number} 被下级单位退回：{reason}，请自行办理")
        ctx.record("sub_returned", unit_id=sub_unit_id, reason=reason)
    else:
        ctx.notify("in_app", f"unit:{lead}", f"诉求 {ctx.appeal.number} 的下级单位答复已审核通过，请填报办理结果并答复")
        ctx.record("sub_reply_accepted", unit_id=sub_unit_id)
    return outcome


def mark_sub_overdue(ctx, appeal_id, stage, unit_id, due):
    """At a second-level limit: the unit's open task of that stage is marked overdue, the overdue
    is recorded against the unit (once per deadline: a reply sent back re-enters the stage), and
    the unit's and the government's leaders are told."""
    appeal = ctx.appeal
    ctx.session.execute(update(UserTask).where(
        UserTask.business_key == appeal.id, UserTask.state == "open", UserTask.deadline_stage == stage,
        UserTask.unit_id == unit_id).values(overdue_at=ctx.now))
    due_at = datetime.fromisoformat(due) if due else None
    if ctx.session.scalar(select(OverdueRecord.id).where(
            OverdueRecord.appeal_id == appeal.id, OverdueRecord.stage == stage, OverdueRecord.unit_id == unit_id,
            OverdueRecord.due_at == due_at)):
        return
    ctx.session.add(OverdueRecord(appeal_id=appeal.id, stage=stage, unit_id=unit_id, due_at=due_at,
                                  recorded_at=ctx.now))
    text = f"诉求 {appeal.number} 的{LABELS[stage]}期限已届满，已记超期。"
    ctx.notify("sms", f"unit:{unit_id}:leader", text)
    ctx.notify("in_app", f"unit:{appeal.lead_unit_id}:leader", text)
    ctx.record("overdue", stage=stage, due_at=due, unit_id=unit_id)


def _stage(ctx, result: dict, stage: str, limit, cap):
    """Put one second-level stage's due and warning times into `result`; the due time, or None
    (no such limit)."""
    found = deadlines.due(ctx.calendar, ctx.now, limit) if limit else None
    if found is None:
        result.pop(stage, None)
        result.pop(f"{stage}_warning", None)
        return None
    at = min(found.at, cap) if cap is not None else found.at
    result[stage] = at.isoformat()
    result[f"{stage}_warning"] = warning_time(ctx.calendar, ctx.now, at, limit).isoformat()
    return at


ALL = (dispatch_to_sub_unit, record_sub_reply, send_back_to_sub_unit, release_sub_unit, mark_sub_overdue)
