"""What the diagrams call: each service task names an operator registered here.

A service runs inside the unit of work that advanced the instance, through `ServiceContext`
(session, appeal, actor, now, calendar). It changes domain rows, appends history, writes
notifications to the outbox, and returns a JSON value that the diagram stores in its result
variable. It never decides what happens next: the diagram does. Raising InvalidInput
rejects the user's step as a whole (the transaction rolls back).
"""
import inspect
import json
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from sqlalchemy import select, update

from . import calendar_store, deadlines, history, status, supervision
from .errors import EngineError, InvalidInput, ProcessError
from .models import (
    Appeal,
    AppealUnit,
    AppellantContact,
    Notification,
    OrganizerUnit,
    OverdueRecord,
    Region,
    User,
    UserTask,
)

OPERATORS = {}
STAGE_LABELS = {"dispatch": "派单", "sign_for": "签收", "first_contact": "首次联系", "handling": "办理"}


def operator(fn):
    OPERATORS[fn.__name__] = fn
    return fn


def signature(name: str) -> tuple[list[str], list[str]]:
    """(required, optional) parameter names of an operator: what a service task must pass."""
    params = list(inspect.signature(OPERATORS[name]).parameters.values())[1:]  # after ctx
    return ([p.name for p in params if p.default is p.empty], [p.name for p in params if p.default is not p.empty])


def catalogue() -> dict[str, dict]:
    """Every operator with the parameters it takes, for the modeler."""
    return {name: dict(zip(("required", "optional"), signature(name))) for name in sorted(OPERATORS)}


@dataclass
class ServiceContext:
    session: object
    appeal: Appeal
    instance_id: int | None
    actor: User | None
    now: datetime
    _calendar: object = field(default=None, repr=False)

    @property
    def calendar(self):
        if self._calendar is None:
            self._calendar = calendar_store.build(self.session)
        return self._calendar

    def record(self, action, **detail):
        history.record(self.session, action, appeal_id=self.appeal.id, instance_id=self.instance_id,
                       actor_id=getattr(self.actor, "id", None), detail=detail or None)

    def notify(self, channel, recipient, body):
        self.session.add(Notification(appeal_id=self.appeal.id, channel=channel, recipient=recipient, body=body))

    def notify_appellant(self, body):
        """An SMS to the appellant's number (kept apart from the appeal)."""
        phone = self.session.scalar(select(AppellantContact.phone).where(AppellantContact.appeal_id == self.appeal.id))
        self.notify("sms", phone or "appellant", body)


class _Environment(TaskDataEnvironment):
    def __init__(self, ctx: ServiceContext):
        super().__init__({})
        self.ctx = ctx

    def call_service(self, context, operation_name=None, operation_params=None, **_kwargs):
        fn = OPERATORS.get(operation_name)
        if fn is None:
            raise ProcessError(f"the diagram calls an unknown service '{operation_name}'")
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        return json.dumps(fn(self.ctx, **params))


class ScriptEngine(PythonScriptEngine):
    """Script engine bound to one unit of work; re-created for every load."""

    def __init__(self, ctx: ServiceContext):
        super().__init__(environment=_Environment(ctx))

    def call_service(self, task, **kwargs):
        # SpiffWorkflow 3.2 hides service errors behind a NameError; surface ours as they are.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except EngineError:
            raise
        except (TypeError, ValueError, LookupError) as err:
            raise ProcessError(f"service '{kwargs.get('operation_name')}' failed on task "
                               f"{task.task_spec.bpmn_id}: {err}") from err


# -- deadlines ---------------------------------------------------------------------------
# The diagram carries `deadlines`: for each stage its due time and warning time (ISO, what
# the timer events read) and, under "basis", the start and limit it was computed from, so
# that a calendar change can compute it again.

def set_stage(ctx, current: dict | None, stage: str, start: datetime, limit: str | None) -> dict:
    """Compute one stage's deadline and warning into a copy of `current`; mirror it on the appeal."""
    result = json.loads(json.dumps(current or {}))
    basis = result.setdefault("basis", {})
    provisional = set(result.get("provisional", []))
    due = deadlines.due(ctx.calendar, start, limit)
    if due is None:
        for key in (stage, f"{stage}_warning"):
            result.pop(key, None)
        basis.pop(stage, None)
        provisional.discard(stage)
    else:
        result[stage] = due.at.isoformat()
        result[f"{stage}_warning"] = warning_time(ctx.calendar, start, due.at, limit).isoformat()
        basis[stage] = [start.isoformat(), limit]
        (provisional.add if due.provisional else provisional.discard)(stage)
    result["provisional"] = sorted(provisional)
    setattr(ctx.appeal, f"{stage}_due_at", due.at if due else None)
    ctx.appeal.deadlines_provisional = bool(provisional)
    return result


def warning_time(calendar, start: datetime, due: datetime, limit: str | None) -> datetime:
    """Remind half a working day before a working-day limit (DESIGN §2); halfway through a
    shorter one; never before the limit started."""
    if deadlines.working_days(limit):
        return max(start, calendar.half_working_day_before(due))
    return start + (due - start) / 2


@operator
def accept_appeal(ctx, appeal_id, dispatch_limit):
    """Art. 14: the dispatch limit runs from acceptance."""
    return set_stage(ctx, None, "dispatch", ctx.appeal.accepted_at, dispatch_limit)


@operator
def record_not_accepted(ctx, appeal_id):
    """Art. 13: never deleted; the reason and guidance stay on the record."""
    status.change_status(ctx.appeal, "not_accepted")
    ctx.appeal.closed_at = ctx.now
    ctx.record("not_accepted", reason=ctx.appeal.not_accepted_reason)


@operator
def record_answer_on_spot(ctx, appeal_id):
    """Art. 14: answered immediately; goes on to verification."""
    ctx.record("answered_on_spot")


@operator
def report_emergency(ctx, appeal_id):
    """Art. 15: emergency content is reported to emergency management."""
    ctx.appeal.emergency = True
    ctx.notify("emergency", "emergency_management",
               f"12345 诉求 {ctx.appeal.number} 涉及应急管理事项，请及时处置：{ctx.appeal.title}")
    ctx.record("emergency_reported")


@operator
def dispatch_appeal(ctx, appeal_id, lead_unit_id, co_unit_ids, sign_for_limit, first_contact_limit,
                    handling_limit, current=None):
    """Art. 16, 17, 20: record lead and co-organizers, start the sign-for, first-contact and
    handling limits, remind the lead unit to sign for (by phone when urgent, Art. 14)."""
    units = _units(ctx.session, [lead_unit_id, *co_unit_ids])
    appeal = ctx.appeal
    ctx.session.execute(update(AppealUnit).where(AppealUnit.appeal_id == appeal.id, AppealUnit.active)
                        .values(active=False))
    appeal.units.append(AppealUnit(unit_id=lead_unit_id, role="lead", assigned_at=ctx.now))
    for unit_id in co_unit_ids:
        appeal.units.append(AppealUnit(unit_id=unit_id, role="co", assigned_at=ctx.now))
    appeal.lead_unit_id, appeal.dispatched_at, appeal.extension_days = lead_unit_id, ctx.now, 0
    result = current
    for stage, limit in (("sign_for", sign_for_limit), ("first_contact", first_contact_limit),
                         ("handling", handling_limit)):
        result = set_stage(ctx, result, stage, ctx.now, limit)
    lead = units[lead_unit_id]
    ctx.notify("in_app", f"unit:{lead.id}", f"新派单 {appeal.number}：{appeal.title}，请于 "
               f"{appeal.sign_for_due_at.astimezone(ctx.calendar.tz):%Y-%m-%d %H:%M} 前签收或退回")
    if appeal.urgent:
        ctx.notify("phone_call", f"unit:{lead.id}", f"紧急诉求 {appeal.number} 已派发，请立即签收")
    ctx.record("dispatched", lead_unit_id=lead_unit_id, co_unit_ids=list(co_unit_ids),
               sign_for_due_at=result.get("sign_for"), handling_due_at=result.get("handling"))
    supervision.check_returns(ctx)  # Art. 24: returned too often -> supervision (sets return_count)
    return result


@operator
def assign_fallback_unit(ctx, appeal_id):
    """Art. 16, 19: unclear responsibility goes to the fallback unit of the appeal's region
    (or of the nearest region above it that has one)."""
    region = ctx.session.get(Region, ctx.appeal.region_id) if ctx.appeal.region_id else None
    while region is not None and region.fallback_unit_id is None:
        region = ctx.session.get(Region, region.parent_id) if region.parent_id else None
    if region is None:
        raise InvalidInput("no fallback unit is designated for this appeal's region",
                           {"return_decision": ["该区域未指定兜底单位，请改派具体单位"]})
    ctx.record("fallback_unit_assigned", unit_id=region.fallback_unit_id)
    return region.fallback_unit_id


@operator
def remind(ctx, appeal_id, stage):
    """Art. 17: a reminder before a limit runs out, to whoever holds the appeal."""
    due = getattr(ctx.appeal, f"{stage}_due_at")
    when = f"{due.astimezone(ctx.calendar.tz):%m-%d %H:%M}" if due else ""
    text = f"提醒：诉求 {ctx.appeal.number} 的{STAGE_LABELS[stage]}期限将于 {when} 届满，请及时处理。"
    for recipient in _holders(ctx, stage):
        ctx.notify("sms", recipient, text)
        ctx.notify("in_app", recipient, text)
    ctx.record("reminded", stage=stage, due_at=due.isoformat() if due else None)


@operator
def mark_overdue(ctx, appeal_id, stage):
    """At the limit: the open task is marked overdue (it stays with the unit), the overdue is
    recorded for evaluation, and the platform and the unit leader are told."""
    appeal = ctx.appeal
    due = getattr(appeal, f"{stage}_due_at")
    unit_id = None if stage == "dispatch" else appeal.lead_unit_id
    ctx.session.add(OverdueRecord(appeal_id=appeal.id, stage=stage, unit_id=unit_id, due_at=due,
                                  recorded_at=ctx.now))
    ctx.session.execute(update(UserTask).where(
        UserTask.appeal_id == appeal.id, UserTask.state == "open", UserTask.deadline_stage == stage)
        .values(overdue_at=ctx.now))
    text = f"诉求 {appeal.number} 的{STAGE_LABELS[stage]}期限已届满，已记超期。"
    ctx.notify("in_app", "platform:supervisor", text)
    if unit_id:
        ctx.notify("sms", f"unit:{unit_id}:leader", text)
    ctx.record("overdue", stage=stage, due_at=due.isoformat() if due else None, unit_id=unit_id)


@operator
def check_extension_application(ctx, appeal_id, days, handling_limit):
    """Art. 20(6): apply no later than half a working day before the deadline; all
    extensions together never longer than the original limit."""
    appeal = ctx.appeal
    cutoff = ctx.calendar.half_working_day_before(appeal.handling_due_at)
    if ctx.now > cutoff:
        raise InvalidInput("too late to apply for an extension", {"extension_days": [
            f"延期申请须在办理期限届满前半个工作日提出（截止 {cutoff.astimezone(ctx.calendar.tz):%Y-%m-%d %H:%M}）"]})
    allowed = deadlines.working_days(handling_limit) - appeal.extension_days
    if days > allowed:
        raise InvalidInput("extension too long", {"extension_days": [
            f"延期总天数不得超过原办理时限，最多还可申请 {max(allowed, 0)} 个工作日"]})
    ctx.record("extension_applied", days=days, cutoff=cutoff.isoformat())


@operator
def apply_extension(ctx, appeal_id, consented, approved, days, handling_limit, current=None):
    """Art. 20(6): an approved extension moves the handling deadline (the diagram re-enters
    the handling stage, so its timers start again); the appellant is told either way."""
    appeal = ctx.appeal
    granted = bool(consented and approved)
    if granted:
        allowed = deadlines.working_days(handling_limit) - appeal.extension_days
        if not days or days > allowed:
            raise InvalidInput("extension too long", {"approved_days": [
                f"延期总天数不得超过原办理时限，本次最多可批准 {max(allowed, 0)} 个工作日"]})
        appeal.extension_days += days
        start, base = current["basis"]["handling"]
        current = set_stage(ctx, current, "handling", datetime.fromisoformat(start),
                            f"{deadlines.working_days(base) + appeal.extension_days}wd")
        ctx.notify_appellant(f"您的诉求 {appeal.number} 因特殊情况办理期限延长 {days} 个工作日，"
                   f"将于 {appeal.handling_due_at.astimezone(ctx.calendar.tz):%Y-%m-%d} 前答复。")
    ctx.record("extension_decided", consented=bool(consented), approved=granted, days=days if granted else 0)
    return current


@operator
def record_reply(ctx, appeal_id):
    """Art. 18: the result is fed back to the platform and the appellant is answered."""
    ctx.notify_appellant(f"您的诉求 {ctx.appeal.number} 已办理答复，稍后将请您评价办理结果。")
    ctx.record("replied")


@operator
def record_evaluation(ctx, appeal_id, evaluation, resolved, organizer_fault):
    """Art. 21, 23: the appellant's evaluation and the responsibility finding."""
    ctx.appeal.satisfaction = evaluation
    ctx.appeal.resolved = resolved
    ctx.record("evaluated", evaluation=evaluation, resolved=resolved, organizer_fault=organizer_fault)


@operator
def start_rehandle(ctx, appeal_id, rehandle_count, handling_limit, current=None):
    """Art. 22: the same unit handles it again with a new handling limit from now."""
    appeal = ctx.appeal
    appeal.rehandle_count, appeal.extension_days = rehandle_count, 0
    result = set_stage(ctx, current, "handling", ctx.now, handling_limit)
    ctx.notify("in_app", f"unit:{appeal.lead_unit_id}", f"诉求 {appeal.number} 经核实需重新办理（第 {rehandle_count} 次）")
    ctx.record("rehandle_started", rehandle_count=rehandle_count, handling_due_at=result.get("handling"))
    return result


@operator
def open_supervision(ctx, appeal_id, reason):
    """Art. 22, 24: dissatisfied again after re-handling -> a supervision item."""
    supervision.open_auto(ctx, reason)


@operator
def archive_appeal(ctx, appeal_id):
    status.change_status(ctx.appeal, "archived")
    ctx.appeal.closed_at = ctx.now
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
