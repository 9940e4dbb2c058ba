"""The hotline's hooks into each unit of work of the runtime (runtime.registry.Extension):
the context operators get, the functions expressions may call, checking a submission's ids,
the appeal columns a form writes, the appeal's status after each step of its main process (not
of a supervision item's own process, hotline.escalation), and what migration and
the runtime's lists need to know of appeals and users."""
from sqlalchemy import select

from runtime.errors import InvalidInput
from runtime.registry import Extension

from . import attachments, centres, recompute, statuses
from .context import Context
from .models import Appeal, OrganizerUnit, User
from .stages import due_after

# Appeal columns a form may write through `x-record-fields`.
WRITABLE_APPEAL_FIELDS = {"not_accepted_reason", "guidance", "answer", "handling_result", "reply_content"}
UNIT_FIELDS = ("lead_unit_id", "suggested_unit_id")
# Fields naming a person of the task's unit, and the roles that person must have.
MEMBER_FIELDS = {"handler_id": ("organizer_staff",)}


class HotlineExtension(Extension):
    def context(self, step):
        return Context(step)

    def functions(self, ctx):
        return {"due_after": lambda start, limit: due_after(ctx.calendar, start, limit)}

    def before_complete(self, ctx, task, data, fields):
        _check_references(ctx.session, ctx.appeal, data, task.unit_id)
        if task.scope_id is not None:  # a centre's platform step: it dispatches within its region
            _check_centre_region(ctx.session, ctx.appeal, data)
        for column, value in fields.items():
            if column in WRITABLE_APPEAL_FIELDS:
                setattr(ctx.appeal, column, value)

    def snapshot(self, ctx):
        return {"status": ctx.appeal.status}

    def saved(self, ctx, loaded):
        if _main(loaded):  # a supervision item's own process leaves the appeal's status as it is
            statuses.project(ctx, loaded)

    def terminated(self, ctx, loaded):
        if _main(loaded):
            statuses.terminate(ctx)

    def labels(self, session, business_keys):
        keys = list(business_keys)
        return dict(session.execute(select(Appeal.id, Appeal.number).where(Appeal.id.in_(keys))).all()) if keys else {}

    def actor(self, session, actor_id):
        user = session.get(User, actor_id) if actor_id else None
        if user is not None:
            session.expunge(user)
        return user

    def actor_names(self, session, actor_ids):
        ids = [i for i in actor_ids if i]
        return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}

    def migration_changes(self, session, items, target):
        return recompute.migration_changes(session, items, target)

    def apply_migration_changes(self, session, loaded, target):
        return recompute.apply_migration_changes(session, loaded, target)

    def migration_reverted(self, session, loaded):
        recompute.put_in_force(session, loaded, recompute.current_deadlines(loaded.workflow))


def _main(loaded) -> bool:
    """The instance runs its bundle's main process (not another process of it started on its own)."""
    return loaded.row.process_key == loaded.row.deployment.process_key


def _check_references(session, appeal: Appeal, data: dict, task_unit_id: int | None) -> None:
    """Ids in a submission must name things that exist: units (active), people of the task's
    unit, and this appeal's files."""
    errors = {}
    for field, roles in MEMBER_FIELDS.items():
        if data.get(field) is not None:
            person = session.get(User, data[field])
            if person is None or not person.active or person.unit_id != task_unit_id or person.role not in roles:
                errors[field] = ["经办人须为本单位在岗的工作人员"]
    for field in UNIT_FIELDS:
        if data.get(field) is not None and not _active_unit(session, data[field]):
            errors[field] = ["承办单位不存在或已停用"]
    co_ids = data.get("co_unit_ids") or []
    if any(not _active_unit(session, i) for i in co_ids):
        errors["co_unit_ids"] = ["协办单位不存在或已停用"]
    if data.get("lead_unit_id") is not None and data["lead_unit_id"] in co_ids:
        errors.setdefault("co_unit_ids", []).append("牵头单位不能同时为协办单位")
    if not attachments.all_belong(session, appeal.id, data.get("attachment_ids")):
        errors["attachment_ids"] = ["附件不存在或不属于本诉求"]
    if errors:
        raise InvalidInput("submitted ids do not exist", errors)


def _check_centre_region(session, appeal: Appeal, data: dict) -> None:
    """Units a centre's platform step names (the dispatch form's fields, as _check_references
    reads them) must lie in the centre's region."""
    if not (data.get("lead_unit_id") or data.get("co_unit_ids")):
        return
    errors = {}
    for field, ids in (("lead_unit_id", [data.get("lead_unit_id")]), ("co_unit_ids", data.get("co_unit_ids") or [])):
        outside = centres.outside_units(session, appeal.centre_id, ids)
        if outside:
            names = "、".join(u.name for u in outside)
            errors[field] = [f"{names}不在本中心辖区内：省级单位或其他地区的事项请上报上级中心或申请协调"]
    if errors:
        raise InvalidInput("units outside the centre's region", errors)


def _active_unit(session, unit_id) -> bool:
    unit = session.get(OrganizerUnit, unit_id)
    return unit is not None and unit.active
