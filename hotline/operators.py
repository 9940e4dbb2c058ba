"""What the diagrams call: each service task names one of the operators in ALL.

An operator runs inside the unit of work that advanced the instance, with a hotline Context
(session, appeal, actor, now, calendar). It changes domain rows, appends history, writes
notifications to the outbox, and returns a JSON value that the diagram stores in its result
variable. It never decides what happens next: the diagram does, with gateways on what the
operators return. Raising InvalidInput rejects the user's step as a whole (the transaction
rolls back): only for input the user must correct (an unknown unit, too many days approved).
"""

from datetime import datetime

from sqlalchemy import select, update

from runtime import instances, messages
from runtime.errors import Conflict, InvalidInput
from runtime.models import HistoryEvent, UserTask
from workdays import deadlines

from . import centre_moves, escalation, sub_dispatch, supervision
from .models import Appeal, AppealUnit, OrganizerUnit, OverdueRecord, Region
from .return_visits import send_evaluation_link
from .stages import LABELS, extended_handling, set_stage


def accept_appeal(ctx, appeal_id, dispatch_limit):
    """Art. 14: the dispatch limit runs from acceptance."""
    return set_stage(ctx, None, "dispatch", ctx.appeal.accepted_at, dispatch_limit)


def grade_appeal(ctx, appeal_id, appeal_type, urgent, simple, dispatch_limit):
    """Art. 14, 15, 20(5): the assessment decides the type and the urgency (and whether the
    matter is simple); the appeal keeps them and its dispatch limit, from the decision table
    asked again, still runs from acceptance."""
    appeal = ctx.appeal
    changed = {}
    if appeal_type and appeal_type != appeal.appeal_type:
        changed["appeal_type"], appeal.appeal_type = [appeal.appeal_type, appeal_type], appeal_type
    if bool(urgent) != bool(appeal.urgent):
        changed["urgent"], appeal.urgent = [bool(appeal.urgent), bool(urgent)], bool(urgent)
    appeal.simple = bool(simple)
    if changed or simple:
        ctx.record("regraded", simple=bool(simple), **changed)
    return set_stage(ctx, None, "dispatch", appeal.accepted_at, dispatch_limit)


def record_not_accepted(ctx, appeal_id):
    """Art. 13: never deleted; the reason and guidance stay on the record."""
    ctx.record("not_accepted", reason=ctx.appeal.not_accepted_reason)


def record_answer_on_spot(ctx, appeal_id):
    """Art. 14: answered immediately; goes on to verification."""
    ctx.record("answered_on_spot")


def report_emergency(ctx, appeal_id):
    """Art. 15: emergency content is reported to emergency management."""
    ctx.appeal.emergency = True
    ctx.notify("emergency", "emergency_management",
               f"12345 诉求 {ctx.appeal.number} 涉及应急管理事项，请及时处置：{ctx.appeal.title}")
    ctx.record("emergency_reported")


def dispatch_appeal(ctx, appeal_id, lead_unit_id, co_unit_ids, sign_for_limit, first_contact_limit,
                    handling_limit, current=None, return_count=0, co_feedback_limit=None):
    """Art. 16, 17, 20: record lead and co-organizers, start the sign-for, first-contact and
    handling limits (and the co-organizers' own, when there are any), remind the lead unit to
    sign for (by phone when urgent, Art. 14) and tell each co-organizer. The diagram's count of
    returns so far is kept on the appeal for the pages."""
    units = _units(ctx.session, [lead_unit_id, *co_unit_ids])
    appeal = ctx.appeal
    ctx.session.execute(update(AppealUnit).where(AppealUnit.appeal_id == appeal.id, AppealUnit.active)
                        .values(active=False))
    appeal.units.append(AppealUnit(unit_id=lead_unit_id, role="lead", assigned_at=ctx.now))
    for unit_id in co_unit_ids:
        appeal.units.append(AppealUnit(unit_id=unit_id, role="co", assigned_at=ctx.now))
    appeal.lead_unit_id, appeal.dispatched_at, appeal.extension_days = lead_unit_id, ctx.now, 0
    appeal.return_count = return_count or 0
    result = current
    for stage, limit in (("sign_for", sign_for_limit), ("first_contact", first_contact_limit),
                         ("handling", handling_limit), ("co_feedback", co_feedback_limit if co_unit_ids else None)):
        result = set_stage(ctx, result, stage, ctx.now, limit)
    lead = units[lead_unit_id]
    for unit_id in co_unit_ids:
        due = appeal.co_feedback_due_at
        ctx.notify("in_app", f"unit:{unit_id}", f"协办诉求 {appeal.number}：{appeal.title}，请签收并"
                   + (f"于 {due.astimezone(ctx.calendar.tz):%Y-%m-%d %H:%M} 前" if due else "及时") + "向牵头单位反馈")
    ctx.notify("in_app", f"unit:{lead.id}", f"新派单 {appeal.number}：{appeal.title}，请于 "
               f"{appeal.sign_for_due_at.astimezone(ctx.calendar.tz):%Y-%m-%d %H:%M} 前签收或退回")
    if appeal.urgent:
        ctx.notify("phone_call", f"unit:{lead.id}", f"紧急诉求 {appeal.number} 已派发，请立即签收")
    ctx.record("dispatched", lead_unit_id=lead_unit_id, co_unit_ids=list(co_unit_ids),
               sign_for_due_at=result.get("sign_for"), handling_due_at=result.get("handling"))
    return result


def release_co_unit(ctx, appeal_id, unit_id, reason):
    """Art. 16: a co-organizer returns its part (not its duty): it leaves the appeal, the lead
    unit goes on, and the platform is told so it can name another."""
    ctx.session.execute(update(AppealUnit).where(
        AppealUnit.appeal_id == ctx.appeal.id, AppealUnit.unit_id == unit_id, AppealUnit.role == "co",
        AppealUnit.active).values(active=False))
    text = f"诉求 {ctx.appeal.number} 的协办单位退回协办：{reason}"
    ctx.notify("in_app", "platform:dispatcher", text)
    ctx.notify("in_app", f"unit:{ctx.appeal.lead_unit_id}", text)
    ctx.record("co_returned", unit_id=unit_id, reason=reason)
    return f"（退回协办）{reason}"  # what the lead unit reads among the co-organizers' opinions


def assign_fallback_unit(ctx, appeal_id):
    """Art. 16, 19: unclear responsibility goes to the fallback unit of the appeal's region
    (or of the nearest region above it that has one)."""
    region = ctx.session.get(Region, ctx.appeal.region_id) if ctx.appeal.region_id else None
    while region is not None and region.fallback_unit_id is None:
        region = ctx.session.get(Region, region.parent_id) if region.parent_id else None
    if region is None:
        raise InvalidInput("no fallback unit is designated for this appeal's region",
                           {"return_decision": ["该区域未指定兜底单位，请改派具体单位"]}, "no_fallback_unit")
    ctx.record("fallback_unit_assigned", unit_id=region.fallback_unit_id)
    return region.fallback_unit_id


def remind(ctx, appeal_id, stage, unit_id=None, due=None):
    """Art. 17: a reminder before a limit runs out, to whoever holds the appeal (`unit_id`: the
    co-organizer, or the subordinate unit of a second-level dispatch, whose own limit it is).
    `due`: the limit as the diagram holds it (ISO 8601), for a stage with no appeal column
    (hotline.sub_dispatch); otherwise the appeal's `<stage>_due_at`."""
    due = datetime.fromisoformat(due) if due else getattr(ctx.appeal, f"{stage}_due_at", None)
    when = f"{due.astimezone(ctx.calendar.tz):%m-%d %H:%M}" if due else ""
    text = f"提醒：诉求 {ctx.appeal.number} 的{LABELS[stage]}期限将于 {when} 届满，请及时处理。"
    for recipient in [f"unit:{unit_id}"] if unit_id else _holders(ctx, stage):
        ctx.notify("sms", recipient, text)
        ctx.notify("in_app", recipient, text)
    ctx.record("reminded", stage=stage, due_at=due.isoformat() if due else None)


def mark_overdue(ctx, appeal_id, stage, unit_id=None):
    """At the limit: the open task is marked overdue (it stays with the unit), the overdue is
    recorded for evaluation against the unit (the lead, or `unit_id`: a co-organizer late with
    its own part), and the platform and the unit leader are told."""
    appeal = ctx.appeal
    due = getattr(appeal, f"{stage}_due_at")
    unit_id = unit_id or (None if stage == "dispatch" else appeal.lead_unit_id)
    tasks = update(UserTask).where(UserTask.business_key == appeal.id, UserTask.state == "open",
                                   UserTask.deadline_stage == stage)
    ctx.session.execute((tasks.where(UserTask.unit_id == unit_id) if stage == "co_feedback" else tasks)
                        .values(overdue_at=ctx.now))
    if ctx.session.scalar(select(OverdueRecord.id).where(  # the stage entered again, its deadline unchanged
            OverdueRecord.appeal_id == appeal.id, OverdueRecord.stage == stage, OverdueRecord.due_at == due,
            OverdueRecord.unit_id.is_(None) if unit_id is None else OverdueRecord.unit_id == unit_id)):
        return  # (a closure review sent the reply back): recorded and told once
    ctx.session.add(OverdueRecord(appeal_id=appeal.id, stage=stage, unit_id=unit_id, due_at=due,
                                  recorded_at=ctx.now))
    text = f"诉求 {appeal.number} 的{LABELS[stage]}期限已届满，已记超期。"
    ctx.notify("in_app", "platform:supervisor", text)
    if unit_id:
        ctx.notify("sms", f"unit:{unit_id}:leader", text)
    ctx.record("overdue", stage=stage, due_at=due.isoformat() if due else None, unit_id=unit_id)


def check_extension_application(ctx, appeal_id, days, handling_limit):
    """Art. 20(6): apply no later than half a working day before the deadline; all extensions
    together never longer than the original limit. Returns {"allowed": bool, "reason": zh-CN,
    "reason_en"}; the diagram refuses (and tells the applicant why) when it is not allowed."""
    appeal = ctx.appeal
    cutoff = ctx.calendar.half_working_day_before(appeal.handling_due_at)
    allowed_days = deadlines.working_days(handling_limit) - appeal.extension_days
    if ctx.now > cutoff:
        at = f"{cutoff.astimezone(ctx.calendar.tz):%Y-%m-%d %H:%M}"
        verdict = {"allowed": False, "reason": f"延期申请须在办理期限届满前半个工作日提出（截止 {at}）",
                   "reason_en": f"an extension must be applied for half a working day before the deadline (by {at})"}
    elif not days or days > allowed_days:
        verdict = {"allowed": False,
                   "reason": f"延期总天数不得超过原办理时限，最多还可申请 {max(allowed_days, 0)} 个工作日",
                   "reason_en": f"all extensions together may not exceed the original limit: at most "
                                f"{max(allowed_days, 0)} more working days"}
    else:
        verdict = {"allowed": True, "reason": "", "reason_en": ""}
    ctx.record("extension_applied", days=days, cutoff=cutoff.isoformat(), allowed=verdict["allowed"],
               reason=verdict["reason"] or None)
    return verdict


def refuse_extension(ctx, appeal_id, reason, reason_en=""):
    """The application is refused before it reaches the leader (the diagram's gateway on the
    check above): the unit is told why, and the handling deadline stays as it was."""
    ctx.notify("in_app", f"unit:{ctx.appeal.lead_unit_id}", f"诉求 {ctx.appeal.number} 的延期申请未受理：{reason}")
    ctx.tell(f"延期申请未受理：{reason}", f"The extension was not accepted: {reason_en or reason}")
    ctx.record("extension_refused", reason=reason, reason_en=reason_en or None)


def apply_extension(ctx, appeal_id, consented, approved, days, handling_limit, current=None):
    """Art. 20(6): an approved extension moves the handling deadline (the diagram re-enters
    the handling stage, so its timers start again); the appellant is told either way."""
    appeal = ctx.appeal
    granted = bool(consented and approved)
    if granted:
        allowed = deadlines.working_days(handling_limit) - appeal.extension_days
        if not days or days > allowed:
            raise InvalidInput("extension too long", {"approved_days": [
                f"延期总天数不得超过原办理时限，本次最多可批准 {max(allowed, 0)} 个工作日"]}, "extension_too_long")
        appeal.extension_days += days
        current = set_stage(ctx, current, "handling", *extended_handling(current, days))
        ctx.notify_appellant(f"您的诉求 {appeal.number} 因特殊情况办理期限延长 {days} 个工作日，"
                             f"将于 {appeal.handling_due_at.astimezone(ctx.calendar.tz):%Y-%m-%d} 前答复。")
    ctx.record("extension_decided", consented=bool(consented), approved=granted, days=days if granted else 0)
    return current


def record_reply(ctx, appeal_id):
    """Art. 18: the result is fed back to the platform (the unit answered the appellant itself;
    the one SMS the appellant gets is the evaluation link's, once the closure review passed)."""
    ctx.record("replied")


def record_evaluation(ctx, appeal_id, evaluation, resolved, organizer_fault):
    """Art. 21, 23: the appellant's evaluation and the responsibility finding."""
    ctx.appeal.satisfaction = evaluation
    ctx.appeal.resolved = resolved
    ctx.record("evaluated", evaluation=evaluation, resolved=resolved, organizer_fault=organizer_fault)


def start_rehandle(ctx, appeal_id, rehandle_count, handling_limit, current=None):
    """Art. 22: the same unit handles it again with a new handling limit from now."""
    appeal = ctx.appeal
    appeal.rehandle_count, appeal.extension_days = rehandle_count, 0
    result = set_stage(ctx, current, "handling", ctx.now, handling_limit)
    ctx.notify("in_app", f"unit:{appeal.lead_unit_id}", f"诉求 {appeal.number} 经核实需重新办理（第 {rehandle_count} 次）")
    ctx.record("rehandle_started", rehandle_count=rehandle_count, handling_due_at=result.get("handling"))
    return result


def reopen_for_dispatch(ctx, appeal_id, dispatch_limit):
    """Art. 22: an on-the-spot answer found unsatisfactory through the platform's fault goes to
    the dispatch queue; its dispatch limit runs from now."""
    ctx.record("reopened_for_dispatch")
    ctx.notify("in_app", "platform:dispatcher", f"诉求 {ctx.appeal.number} 当场答复经核实不满意，请派单办理")
    return set_stage(ctx, None, "dispatch", ctx.now, dispatch_limit)


def merge_into(ctx, appeal_id, number):
    """并单: this appeal repeats an open one (by its number): it is linked to it and waits for its
    reply. Refused (InvalidInput) when there is no such open appeal, or it is this one, itself
    merged, answered already or past its closure review."""
    appeal = ctx.appeal
    main = ctx.session.scalar(select(Appeal).where(Appeal.number == (number or "").strip()).with_for_update())
    problem = ("找不到该编号的诉求" if main is None else "不能并入本诉求自身" if main.id == appeal.id
               else "该诉求本身已并入其他诉求" if main.merged_into_id is not None
               else "该诉求已办结" if main.closed_at is not None
               else "该诉求已答复，请直接答复本诉求" if _has_event(ctx, main.id, ("answered_on_spot", "merged_replied"))
               else None)
    if problem:
        raise InvalidInput("cannot merge into that appeal", {"merge_into": [problem]}, "merge_refused")
    appeal.merged_into_id = main.id
    ctx.record("merged", main_appeal_id=main.id, main_number=main.number)
    return main.id


def take_main_reply(ctx, appeal_id, main_appeal_id):
    """The main appeal's reply, passed by the closure review, is this appellant's too."""
    appeal, main = ctx.appeal, ctx.session.get(Appeal, main_appeal_id)
    appeal.handling_result, appeal.reply_content = main.handling_result, main.reply_content
    ctx.record("replied", main_appeal_id=main.id)  # the evaluation link's SMS tells the appellant


def reply_merged_appeals(ctx, appeal_id):
    """Every appeal merged into this one takes its reply (its diagram waits for main_replied)."""
    merged = ctx.session.scalars(select(Appeal.id).where(Appeal.merged_into_id == ctx.appeal.id)).all()
    delivered = _tell_merged(ctx, merged, "main_replied")
    ctx.record("merged_replied", appeal_ids=delivered)


def record_withdrawal(ctx, appeal_id):
    """撤单: the appellant withdrew before the reply (the diagram catches the message only where that
    is still possible). The holders are told; appeals merged into it go on on their own."""
    for unit_id in sorted({u.unit_id for u in ctx.appeal.units if u.active}):
        ctx.notify("in_app", f"unit:{unit_id}", f"诉求 {ctx.appeal.number} 已由诉求人撤单，无需继续办理。")
    merged = ctx.session.scalars(select(Appeal.id).where(Appeal.merged_into_id == ctx.appeal.id)).all()
    _tell_merged(ctx, merged, "main_withdrawn")
    ctx.record("withdrawn")


def _tell_merged(ctx, appeal_ids, message) -> list[int]:
    """Deliver `message` to the main processes of the given appeals that wait for it."""
    delivered = []
    for merged_id in appeal_ids:
        row = instances.for_business_key(ctx.session, merged_id)
        try:
            if row is not None:
                messages.deliver(ctx.session, row.id, message, ctx.actor)
                delivered.append(merged_id)
        except Conflict:  # not waiting for it (ended, or moved on by hand): nothing to tell it
            pass
    return delivered


def _has_event(ctx, appeal_id, actions) -> bool:
    return ctx.session.scalar(select(HistoryEvent.id).where(
        HistoryEvent.business_key == appeal_id, HistoryEvent.action.in_(actions)).limit(1)) is not None


def open_supervision(ctx, appeal_id, reason, note=None):
    """Art. 22, 24: the diagram puts the appeal under supervision (dissatisfied again after a
    re-handle, returned too often, overdue too long). While the appeal has an open item, the
    reason is added to it instead (one item per appeal); returns the item's id."""
    item = supervision.open_auto(ctx, reason, note)
    return item.id if item is not None else None


def escalate_supervision(ctx, item_id, level):
    """Art. 24 (processes/supervision.bpmn): the item was not answered by its date; issue
    `level` (notice, rectification_notice, interview_reminder) with its own date. Returns
    {"level", "due_at"}, what the diagram's next timer waits for."""
    return escalation.issue(ctx, item_id, level)


def archive_appeal(ctx, appeal_id):
    """The appeal is closed; its status comes from the end event the diagram reaches."""
    ctx.record("archived")


def _holders(ctx, stage) -> list[str]:
    if stage == "dispatch":
        return ["platform:dispatcher"]
    return [f"unit:{ctx.appeal.lead_unit_id}"]


def _units(session, unit_ids) -> dict[int, OrganizerUnit]:
    found = {u.id: u for u in session.scalars(select(OrganizerUnit).where(
        OrganizerUnit.id.in_(unit_ids), OrganizerUnit.active))}
    missing = [i for i in unit_ids if i not in found]
    if missing:
        raise InvalidInput("unknown organizer unit", {"lead_unit_id": [f"承办单位不存在或已停用：{missing}"]})
    return found


ALL = (accept_appeal, grade_appeal, record_not_accepted, record_answer_on_spot, report_emergency,
       dispatch_appeal, assign_fallback_unit, release_co_unit, remind, mark_overdue,
       check_extension_application, refuse_extension, apply_extension, record_reply, record_evaluation,
       start_rehandle, reopen_for_dispatch, merge_into, take_main_reply, reply_merged_appeals,
       record_withdrawal, open_supervision, archive_appeal, send_evaluation_link,
       escalate_supervision, *centre_moves.ALL, *sub_dispatch.ALL)
