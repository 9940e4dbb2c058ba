"""What the diagrams call: each service task names an operator registered here.

A service runs inside the unit of work that advanced the instance, through `ServiceContext`
(session, appeal, actor, now). It changes domain rows, appends history, writes notifications
to the outbox, and returns a JSON value that the diagram stores in its result variable. It
never decides what happens next: the diagram does. Raising InvalidInput rejects the user's
step as a whole (the transaction rolls back).
"""
import json
from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from sqlalchemy import select, update

from . import deadlines, history, status
from .errors import EngineError, InvalidInput, ProcessError
from .models import Appeal, AppealUnit, Notification, OrganizerUnit, Region, SupervisionItem, User

OPERATORS = {}


def operator(fn):
    OPERATORS[fn.__name__] = fn
    return fn


@dataclass
class ServiceContext:
    session: object
    appeal: Appeal
    instance_id: int | None
    actor: User | None
    now: datetime

    def record(self, action, **detail):
        history.record(self.session, action, appeal_id=self.appeal.id, instance_id=self.instance_id,
                       actor_id=getattr(self.actor, "id", None), detail=detail or None)

    def notify(self, channel, recipient, body):
        self.session.add(Notification(appeal_id=self.appeal.id, channel=channel, recipient=recipient, body=body))


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


def _iso(deadline):
    return deadline.at.isoformat()


def _deadlines(appeal: Appeal, provisional=False) -> dict:
    """The appeal's current deadlines as the diagram sees them (ISO strings)."""
    return {"dispatch": appeal.dispatch_due_at and appeal.dispatch_due_at.isoformat(),
            "sign_for": appeal.sign_for_due_at and appeal.sign_for_due_at.isoformat(),
            "handling": appeal.handling_due_at and appeal.handling_due_at.isoformat(),
            "provisional": provisional}


@operator
def accept_appeal(ctx, appeal_id):
    """Art. 14: the dispatch limit runs from acceptance."""
    due = deadlines.dispatch_deadline(ctx.appeal.accepted_at, ctx.appeal.urgent)
    ctx.appeal.dispatch_due_at = due.at
    return _deadlines(ctx.appeal, due.provisional)


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
def dispatch_appeal(ctx, appeal_id, lead_unit_id, co_unit_ids=()):
    """Art. 16, 17, 20: record lead and co-organizers, start the sign-for and handling limits."""
    units = _units(ctx.session, [lead_unit_id, *co_unit_ids])
    appeal = ctx.appeal
    ctx.session.execute(update(AppealUnit).where(AppealUnit.appeal_id == appeal.id, AppealUnit.active)
                        .values(active=False))
    appeal.units.append(AppealUnit(unit_id=lead_unit_id, role="lead", assigned_at=ctx.now))
    for unit_id in co_unit_ids:
        appeal.units.append(AppealUnit(unit_id=unit_id, role="co", assigned_at=ctx.now))
    appeal.lead_unit_id = lead_unit_id
    appeal.dispatched_at = ctx.now
    due = deadlines.organizer_deadlines(ctx.now, appeal.appeal_type, appeal.convenience_list, appeal.urgent)
    appeal.sign_for_due_at, appeal.handling_due_at = due["sign_for"].at, due["handling"].at
    appeal.extension_days = 0
    lead = units[lead_unit_id]
    ctx.notify("in_app", f"unit:{lead.id}", f"新派单 {appeal.number}：{appeal.title}，请于 "
               f"{due['sign_for'].at:%Y-%m-%d %H:%M} 前签收或退回")
    if appeal.urgent:  # Art. 14: urgent matters get a phone notice to sign for
        ctx.notify("phone_call", f"unit:{lead.id}", f"紧急诉求 {appeal.number} 已派发，请立即签收")
    ctx.record("dispatched", lead_unit_id=lead_unit_id, co_unit_ids=list(co_unit_ids),
               sign_for_due_at=_iso(due["sign_for"]), handling_due_at=_iso(due["handling"]))
    return _deadlines(appeal, any(d.provisional for d in due.values()))


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
def apply_extension(ctx, appeal_id, consented, approved, days):
    """Art. 20(6): approved extensions move the handling deadline; their sum never exceeds
    the original handling limit."""
    appeal = ctx.appeal
    if consented and approved:
        allowed = deadlines.handling_days(appeal.appeal_type, appeal.convenience_list) - appeal.extension_days
        if not days or days > allowed:
            raise InvalidInput("extension too long", {"approved_days": [
                f"延期总天数不得超过原办理时限，本次最多可批准 {max(allowed, 0)} 个工作日"]})
        appeal.extension_days += days
        appeal.handling_due_at = deadlines.calendar.add_working_days(appeal.handling_due_at, days).at
        ctx.notify("sms", "appellant", f"您的诉求 {appeal.number} 办理期限已延长 {days} 个工作日。")
    ctx.record("extension_decided", consented=bool(consented), approved=bool(approved and consented),
               days=days if consented and approved else 0)
    return _deadlines(appeal)


@operator
def record_reply(ctx, appeal_id):
    """Art. 18: the result is fed back to the platform and the appellant is answered."""
    ctx.notify("sms", "appellant", f"您的诉求 {ctx.appeal.number} 已办理答复，稍后将请您评价办理结果。")
    ctx.record("replied")


@operator
def record_evaluation(ctx, appeal_id, evaluation, resolved, organizer_fault):
    """Art. 21, 23: the appellant's evaluation and the responsibility finding."""
    ctx.appeal.satisfaction = evaluation
    ctx.appeal.resolved = resolved
    ctx.record("evaluated", evaluation=evaluation, resolved=resolved, organizer_fault=organizer_fault)


@operator
def start_rehandle(ctx, appeal_id, rehandle_count):
    """Art. 22: the same unit handles it again with a new handling limit from now."""
    appeal = ctx.appeal
    appeal.rehandle_count = rehandle_count
    appeal.extension_days = 0
    appeal.handling_due_at = deadlines.organizer_deadlines(
        ctx.now, appeal.appeal_type, appeal.convenience_list, appeal.urgent)["handling"].at
    ctx.notify("in_app", f"unit:{appeal.lead_unit_id}", f"诉求 {appeal.number} 经核实需重新办理（第 {rehandle_count} 次）")
    ctx.record("rehandle_started", rehandle_count=rehandle_count)
    return _deadlines(appeal)


@operator
def open_supervision(ctx, appeal_id, reason):
    """Art. 22, 24: dissatisfied again after re-handling -> a supervision item."""
    ctx.session.add(SupervisionItem(appeal_id=ctx.appeal.id, unit_id=ctx.appeal.lead_unit_id, reason=reason,
                                    opened_at=ctx.now))
    ctx.record("supervision_opened", reason=reason)


@operator
def archive_appeal(ctx, appeal_id):
    status.change_status(ctx.appeal, "archived")
    ctx.appeal.closed_at = ctx.now
    ctx.record("archived")


def _units(session, unit_ids) -> dict[int, OrganizerUnit]:
    found = {u.id: u for u in session.scalars(select(OrganizerUnit).where(
        OrganizerUnit.id.in_(unit_ids), OrganizerUnit.active))}
    missing = [i for i in unit_ids if i not in found]
    if missing:
        raise InvalidInput("unknown organizer unit", {"lead_unit_id": [f"承办单位不存在或已停用：{missing}"]})
    return found
