"""The case file: what the task page and the appeal page show, and the files people add to it.

The appellant is read only through hotline.appeals.detail, which records each read by unit
staff (PIPL). Tabs that do not show the appellant (history, attachments, audit) read the
rest without it and record nothing. The read of personal data is the only write here, so
each page costs one short transaction and one or two reads.
"""
from pathlib import Path

from sqlalchemy import or_, select

from runtime import history, tasks
from runtime.errors import Conflict, Forbidden, NotFound
from runtime.models import UserTask

from . import appeals, attachments, comments, contact_requests, inbox, privacy, sub_dispatch
from .access import ADMIN, PLATFORM_ROLES, UNIT_LEADER
from .models import Attachment, OrganizerUnit, User

TABS = ("summary", "history", "attachments", "audit")


def task_page(db, task_id: str, user) -> dict:
    """The task, its appeal as the user may see it, the case file, the active units, and
    what the user may do with the task now (`may_work`, `may_claim`, `may_release`). Raises NotFound, Forbidden (another unit's task, or a
    platform task for unit staff)."""
    with db.read() as session:
        task = session.get(UserTask, task_id)
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        if not inbox.may_see(user, task):
            raise Forbidden("this task belongs to another organizer unit")
    view = appeals.detail(db, task.business_key, user)
    with db.read() as session:
        page = _case_file(session, view, user)
        claimer = session.get(User, task.claimed_by_id) if task.claimed_by_id else None
        units = inbox.list_units(session)  # what the form's unit pickers offer
        sub_units = sub_dispatch.subordinate_units(session, task.unit_id)  # a sub-unit picker (二级派单)
        _ = [u.region for u in sub_units]  # grouped by region, after this session
        members = session.execute(select(User.id, User.display_name, User.role).where(  # its member pickers
            User.unit_id == task.unit_id, User.active).order_by(User.display_name)).all() if task.unit_id else []
    workable = task.state == "open" and tasks.may_work(user, task)
    return {**view, **page, "task": task, "claimed_by": claimer.display_name if claimer else None,
            "unit_choices": units, "sub_unit_choices": sub_units, "unit_members": [tuple(m) for m in members],
            "countdown": page["countdowns"].get(task.id),
            "may_work": workable and task.claimed_by_id in (None, user.id),
            "may_claim": workable and task.claimed_by_id is None,
            # runtime.tasks.unclaim: the claimer, or a leader of the same scope, may release a claim
            "may_release": workable and task.claimed_by_id is not None
            and (task.claimed_by_id == user.id or user.role in (UNIT_LEADER, ADMIN))}


def appeal_page(db, appeal_id: int, user, tab: str = "summary") -> dict:
    """One tab of the appeal page. Only the summary shows (and records a read of) the
    appellant; the audit tab adds the personal-data events the user may see (hotline.privacy).
    Raises NotFound, Forbidden."""
    if tab == "summary":
        view = appeals.detail(db, appeal_id, user)
    else:
        with db.read() as session:
            view = _without_appellant(session, appeal_id, user)
    with db.read() as session:
        page = _case_file(session, view, user)
        if tab == "audit":
            page["audit"] = privacy.audit(session, appeal_id, user)
    return {**view, **page, "tab": tab}


def attach(db, task_id: str, user, root: Path, filename: str, stream, max_bytes: int, after=None) -> Attachment:
    """Store a photo, video or PDF on the task's appeal (hotline.attachments: type from the
    content, stored by SHA-256). `after(session, attachment)` runs in the same transaction (the
    page keeps the form's draft with the file ticked). Raises NotFound, Forbidden (not the
    user's task), Conflict (the task is closed or claimed by someone else), InvalidInput (type or size)."""
    with db.transaction() as session:
        task = tasks.get(session, task_id, user)
        if task.state != "open":
            raise Conflict(f"this task is already {task.state}")
        if task.claimed_by_id not in (None, user.id):
            raise Conflict("this task is claimed by another user")
        stored = attachments.store(session, root, task.business_key, filename, stream, user, max_bytes)
        if after is not None:
            after(session, stored)
        return stored


def attach_to_appeal(db, appeal_id: int, user, upload: attachments.Upload) -> Attachment:
    """Store a file on an appeal the user may see (the API's upload). Raises NotFound, Forbidden,
    InvalidInput (type or size)."""
    with db.transaction() as session:
        appeals.get_visible(session, appeal_id, user)
        return upload.store(session, appeal_id, user)


def attachment_for(session, attachment_id: int, user) -> Attachment:
    """An attachment of an appeal the user may see. Raises NotFound, Forbidden."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    appeals.get_visible(session, attachment.appeal_id, user)
    return attachment


def _without_appellant(session, appeal_id: int, user) -> dict:
    appeal = appeals.get_visible(session, appeal_id, user)
    open_tasks = list(session.scalars(select(UserTask).where(
        UserTask.business_key == appeal.id, UserTask.state == "open").order_by(UserTask.created_at)))
    files = list(session.scalars(select(Attachment).where(Attachment.appeal_id == appeal.id).order_by(Attachment.id)))
    return {"appeal": appeal, "units": list(appeal.units), "appellant": None, "tasks": open_tasks,
            "history": history.for_key(session, appeal.id), "attachments": files}


def _case_file(session, view: dict, user) -> dict:
    """Names and the rest of the record around an appeal view: the timeline (reads of the
    appellant are on the audit tab instead), comments, grants, countdowns of open tasks."""
    appeal = view["appeal"]
    timeline = [e for e in view["history"] if e.action != "appellant_viewed"]
    notes = comments.list_for(session, appeal.id, user)
    actor_ids = {e.actor_id for e in timeline} | {f.uploaded_by_id for f in view["attachments"]}
    # and the people of the units working it, whom a form may name (the handler a leader picks)
    unit_ids = ({appeal.lead_unit_id} | {t.unit_id for t in view["tasks"]}) - {None}
    people = dict(session.execute(select(User.id, User.display_name).where(
        or_(User.id.in_(actor_ids), User.unit_id.in_(unit_ids)))).all())
    grants = privacy.grants(session, appeal.id)
    if user.role not in PLATFORM_ROLES:
        grants = [g for g in grants if g["grant"].unit_id == user.unit_id]
    clock = inbox.Clock(session)
    return {"timeline": timeline, "comments": notes, "people": people, "grants": grants,
            "unit_names": dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)).all()),
            "forms": dict(session.execute(select(UserTask.bpmn_id, UserTask.form)
                                          .where(UserTask.business_key == appeal.id)).all()),
            "countdowns": {t.id: clock.countdown(t.due_at) for t in view["tasks"]},
            "deadline": clock.countdown(appeal.handling_due_at) if appeal.closed_at is None else None,
            **contact_requests.for_page(session, appeal, user)}  # the appellant card's access requests
