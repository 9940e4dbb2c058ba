"""The process owners' monitor: queries only, nothing here writes.

- `list_instances`: appeals with their process instance, filtered, newest first, keyset-paged
  by (accepted_at, id) so page 50 costs what page 1 costs at a million appeals.
- `overview`: open appeals by status, due today, overdue, incidents, suspended instances.
- `deployments`: every deployed version with its instances counted by state.
- `instance_view`: one instance with its tasks, timers, incidents, history and current data.

"Overdue" means an open user task whose due time has passed or whose overdue timer has
fired; "due today" an open task due before midnight in Asia/Shanghai that has not passed yet.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import aliased

from runtime import instances, serializer
from runtime.errors import Forbidden, NotFound
from runtime.models import Deployment, HistoryEvent, Job, ProcessInstance, UserTask
from workdays.calendar import TZ

from . import centres, title_search
from .config import MAIN_PROCESS
from .models import Appeal, Attachment, OrganizerUnit, User

OPEN_INSTANCE_STATES = ("running", "suspended")
CLOSED_STATUSES = ("not_accepted", "archived", "terminated")
RARE_STATES = ("suspended", "terminated")  # only an operator's action puts an instance there
COUNT_CAP = 10_000  # beyond this the list says "more than 10,000" instead of counting a million rows
NUMBER = re.compile(r"^FJ\d{8}-\d{6}$")


@dataclass(frozen=True)
class InstanceFilter:
    status: str | None = None  # appeal status
    state: str | None = None  # process instance status: running | suspended | completed | terminated
    appeal_type: str | None = None
    unit_id: int | None = None  # the lead organizer unit
    deadline: str | None = None  # overdue | due_today
    accepted_from: datetime | None = None
    accepted_before: datetime | None = None  # exclusive
    text: str | None = None  # an appeal number, or words of the title
    centre_id: int | None = None  # held by or accepted at this centre (hotline.centres)


@dataclass
class InstancePage:
    rows: list[dict]
    next_cursor: str | None
    prev_cursor: str | None
    total: int  # capped at COUNT_CAP + 1
    tasks: dict[int, list] = field(default_factory=dict)  # appeal id -> its open user tasks


def end_of_day(now: datetime) -> datetime:
    """Midnight after `now` in Asia/Shanghai (the working day people mean by "today")."""
    local = now.astimezone(TZ)
    return datetime.combine(local.date() + timedelta(days=1), time(), TZ)


def _overdue(now):
    return and_(UserTask.state == "open", or_(UserTask.due_at < now, UserTask.overdue_at.is_not(None)))


def _due_today(now):
    return and_(UserTask.state == "open", UserTask.due_at >= now, UserTask.due_at < end_of_day(now),
                UserTask.overdue_at.is_(None))


def _conditions(session, f: InstanceFilter, now: datetime) -> list:
    where = []
    if f.status:
        where.append(Appeal.status == f.status)
    if f.state:
        in_state = select(ProcessInstance.business_key).where(ProcessInstance.status == f.state,
                                                              ProcessInstance.process_key == MAIN_PROCESS)
        if f.state in RARE_STATES:  # read those few first instead of probing every appeal (bench/monitor.py)
            in_state = select(in_state.cte("in_state").prefix_with("MATERIALIZED", dialect="postgresql").c.business_key)
        where.append(Appeal.id.in_(in_state))
    if f.appeal_type:
        where.append(Appeal.appeal_type == f.appeal_type)
    if f.centre_id:
        where.append(or_(Appeal.centre_id == f.centre_id, Appeal.origin_centre_id == f.centre_id))
    if f.unit_id:
        where.append(Appeal.lead_unit_id == f.unit_id)
    if f.deadline in ("overdue", "due_today"):
        condition = _overdue(now) if f.deadline == "overdue" else _due_today(now)
        where.append(Appeal.id.in_(select(UserTask.business_key).where(condition)))
    if f.accepted_from:
        where.append(Appeal.accepted_at >= f.accepted_from)
    if f.accepted_before:
        where.append(Appeal.accepted_at < f.accepted_before)
    if f.text:
        text = f.text.strip()
        if NUMBER.match(text.upper()):
            where.append(Appeal.number == text.upper())
        else:
            where.append(title_search.condition(session, text))
    return where


def encode_cursor(at: datetime, appeal_id: int) -> str:
    return f"{int(at.timestamp() * 1_000_000)}.{appeal_id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """None for a missing or malformed cursor (the first page)."""
    try:
        micros, appeal_id = (int(part) for part in (cursor or "").split("."))
        return datetime.fromtimestamp(micros / 1_000_000, TZ), appeal_id
    except (ValueError, OverflowError, OSError):
        return None


def list_instances(session, f: InstanceFilter, now: datetime, after: str | None = None,
                   before: str | None = None, limit: int = 50) -> InstancePage:
    """One page of appeals with their instance, newest accepted first. `after` pages forward
    from a row's cursor, `before` back. The page's ids are found first on the appeal table
    alone (index-only where an index fits), then their columns are read for those ids only."""
    key = tuple_(Appeal.accepted_at, Appeal.id)
    conditions = _conditions(session, f, now)
    ids = select(Appeal.id, Appeal.accepted_at).where(*conditions)
    back, forward = decode_cursor(before), decode_cursor(after)
    if back:
        found = session.execute(ids.where(key > back).order_by(Appeal.accepted_at, Appeal.id).limit(limit + 1)).all()
        more_before, more_after = len(found) > limit, True
        found = list(reversed(found[:limit]))
    else:
        query = ids.order_by(Appeal.accepted_at.desc(), Appeal.id.desc()).limit(limit + 1)
        found = session.execute(query.where(key < forward) if forward else query).all()
        more_before, more_after = forward is not None, len(found) > limit
        found = found[:limit]
    counted = select(Appeal.id).where(*conditions).limit(COUNT_CAP + 1)
    page = InstancePage(_rows(session, [i for i, _ in found]), None, None,
                        session.scalar(select(func.count()).select_from(counted.subquery())))
    if found:
        page.next_cursor = encode_cursor(found[-1][1], found[-1][0]) if more_after else None
        page.prev_cursor = encode_cursor(found[0][1], found[0][0]) if more_before else None
        page.tasks = open_tasks_by_appeal(session, [i for i, _ in found])
    return page


def _rows(session, appeal_ids: list[int]) -> list[dict]:
    """The list's columns for these appeals, in the order given."""
    lead = aliased(OrganizerUnit)
    query = (select(Appeal.id, Appeal.number, Appeal.title, Appeal.appeal_type, Appeal.status, Appeal.accepted_at,
                    Appeal.urgent, lead.name.label("unit_name"), ProcessInstance.id.label("instance_id"),
                    ProcessInstance.status.label("state"), ProcessInstance.deployment_id)
             .join(ProcessInstance, and_(ProcessInstance.business_key == Appeal.id,
                                         ProcessInstance.process_key == MAIN_PROCESS))
             .outerjoin(lead, lead.id == Appeal.lead_unit_id).where(Appeal.id.in_(appeal_ids)))
    by_id = {r.id: r._asdict() for r in session.execute(query)}
    return [by_id[i] for i in appeal_ids if i in by_id]


def units(session) -> list[tuple[int, str]]:
    """(id, name) of every active organizer unit, for the unit filter."""
    return session.execute(select(OrganizerUnit.id, OrganizerUnit.name).where(OrganizerUnit.active)
                           .order_by(OrganizerUnit.id)).all()


def open_tasks_by_appeal(session, appeal_ids: list[int]) -> dict[int, list[UserTask]]:
    found: dict[int, list[UserTask]] = {}
    for task in session.scalars(select(UserTask).where(UserTask.business_key.in_(appeal_ids), UserTask.state == "open")
                                .order_by(UserTask.created_at)):
        found.setdefault(task.business_key, []).append(task)
    return found


def overview(session, now: datetime, centre_id: int | None = None) -> dict:
    """The numbers on the monitor's front page (of one centre's appeals when `centre_id` is
    given: held by it or accepted there)."""
    mine = [or_(Appeal.centre_id == centre_id, Appeal.origin_centre_id == centre_id)] if centre_id else []
    tasks_mine = [UserTask.business_key.in_(select(Appeal.id).where(*mine))] if centre_id else []
    by_status = dict(session.execute(select(Appeal.status, func.count()).where(
        Appeal.status.not_in(CLOSED_STATUSES), *mine).group_by(Appeal.status)).all())
    overdue = session.scalar(select(func.count(func.distinct(UserTask.business_key))).where(_overdue(now), *tasks_mine))
    due_today = session.scalar(select(func.count(func.distinct(UserTask.business_key))).where(
        _due_today(now), *tasks_mine))
    by_unit = session.execute(
        select(UserTask.unit_id, OrganizerUnit.name, func.count(func.distinct(UserTask.business_key)).label("n"))
        .outerjoin(OrganizerUnit, OrganizerUnit.id == UserTask.unit_id).where(_overdue(now), *tasks_mine)
        .group_by(UserTask.unit_id, OrganizerUnit.name).order_by(func.count(func.distinct(UserTask.business_key)).desc())
        .limit(10)).all()
    suspended = session.scalar(select(func.count()).select_from(ProcessInstance)
                               .where(ProcessInstance.status == "suspended"))
    return {"by_status": by_status, "open": sum(by_status.values()), "overdue": overdue, "due_today": due_today,
            "overdue_by_unit": by_unit, "suspended": suspended, "incidents": incidents(session),
            "deployments": deployments(session)}


def incidents(session) -> list[dict]:
    """Failed timer jobs with their appeal, oldest first."""
    query = (select(Job, Appeal.number, Appeal.title).join(ProcessInstance, ProcessInstance.id == Job.instance_id)
             .join(Appeal, Appeal.id == ProcessInstance.business_key).where(Job.status == "incident")
             .order_by(Job.due_at))
    return [{"job": job, "number": number, "title": title} for job, number, title in session.execute(query)]


def deployments(session) -> list[dict]:
    """Every deployed version, newest first, with its instances counted by state."""
    counts: dict[int, dict[str, int]] = {}
    for deployment_id, state, n in session.execute(
            select(ProcessInstance.deployment_id, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.deployment_id, ProcessInstance.status)):
        counts.setdefault(deployment_id, {})[state] = n
    rows = session.execute(select(Deployment.id, Deployment.process_key, Deployment.version, Deployment.content_hash,
                                  Deployment.deployed_at, Deployment.deployed_by)
                           .order_by(Deployment.process_key, Deployment.version.desc())).all()
    return [{**r._asdict(), "counts": counts.get(r.id, {})} for r in rows]


def instance_view(session, instance_id: int, now: datetime, user=None) -> dict:
    """Everything the instance page shows. Raises NotFound, Forbidden (another centre's
    appeal, for `user`)."""
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    appeal = session.get(Appeal, row.business_key)
    if user is not None and appeal is not None and not centres.may_read(session, user, appeal):
        raise Forbidden("this appeal belongs to another centre")
    actor = aliased(User)
    events = session.execute(select(HistoryEvent, actor.display_name).outerjoin(actor, actor.id == HistoryEvent.actor_id)
                             .where(HistoryEvent.business_key == appeal.id)
                             .order_by(HistoryEvent.at.desc(), HistoryEvent.id.desc())).all()
    tasks = list(session.scalars(select(UserTask).where(UserTask.instance_id == row.id, UserTask.state == "open")
                                 .order_by(UserTask.created_at)))
    jobs = list(session.scalars(select(Job).where(Job.instance_id == row.id).order_by(Job.due_at)))
    lead = session.get(OrganizerUnit, appeal.lead_unit_id) if appeal.lead_unit_id else None
    data = (serializer.ended_data(row.state) if serializer.is_ended(row.state)
            else current_data(instances.load(session, row.id, actor=None, lock=False).workflow))
    people = {e.actor_id: name for e, name in events if e.actor_id}
    # users the data names by id (the handler a leader picked); only a form's member field shows them
    people.update(user_names(session, [v for k, v in data.items() if k.endswith("_id") and isinstance(v, int)]))
    return {"instance": row, "appeal": appeal, "version": row.deployment.version, "lead_unit": lead,
            "history": [{"event": e, "actor": name} for e, name in events], "tasks": tasks, "jobs": jobs,
            "data": data, "overdue_ids": {t.id for t in tasks if is_overdue(t, now)},
            # to describe the history and the data: names, forms, files
            "people": people, "unit_names": dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)).all()),
            "task_forms": dict(session.execute(select(UserTask.bpmn_id, UserTask.form)
                                               .where(UserTask.business_key == appeal.id)).all()),
            "files": dict(session.execute(select(Attachment.id, Attachment.filename)
                                          .where(Attachment.appeal_id == appeal.id)).all()),
            "reads": sum(1 for e, _name in events if e.action == "appellant_viewed")}


def user_names(session, user_ids) -> dict[int, str]:
    """{id: display name} of these users (ids of no user are left out)."""
    ids = set(user_ids)
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}


def is_overdue(task: UserTask, now: datetime) -> bool:
    return task.overdue_at is not None or (task.due_at is not None and task.due_at < now)


def current_data(workflow) -> dict:
    """The data the instance holds now: the ready tasks' (else the workflow's when it ended,
    else the last completed task's)."""
    ready = workflow.get_tasks(state=TaskState.READY) or workflow.get_tasks(state=TaskState.WAITING)
    if ready:
        return dict(ready[-1].data)
    if workflow.data:
        return dict(workflow.data)
    done = sorted(workflow.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change)
    return dict(done[-1].data) if done else {}

