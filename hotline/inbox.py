"""The inbox as people work it: open tasks searched by scope and filters, sorted by due time,
each with a countdown in working days; and the active units the form pickers offer.

Scopes (organizer staff and leaders see only their own unit's tasks; platform staff see all):
- "mine": what I may work now: claimed by me, or unclaimed and meant for my role and unit;
- "claimed": claimed by me;
- "unit": every open task of my unit, or, for platform staff, every open task, including
  those claimed by colleagues or meant for another role (shown, not workable).
Countdowns are office time on working days in units of a standard day (workdays.calendar):
"overdue" once the due time has passed, "soon" while less than one working day is left
(the reminder timers fire at half a day), else "ok".
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, false, func, literal, or_, select, true, tuple_
from sqlalchemy.orm import aliased, selectinload

from runtime import clock, repository
from runtime.errors import InvalidInput
from runtime.models import Deployment, UserTask
from runtime.tasks import may_work
from workdays import store as calendar_store
from workdays.calendar import WorkingCalendar

from .access import ADMIN, PLATFORM_ROLES
from .models import Appeal, Centre, OrganizerUnit, User

SCOPES = ("mine", "claimed", "unit")
DUE_FILTERS = ("overdue", "soon")
SORTS = ("due", "-due", "created")
PAGE_SIZE = 50  # the earliest due; filters narrow it (a page is read in one index range)


@dataclass
class Countdown:
    due_at: datetime | None
    remaining: float | None  # working days left; negative: how long overdue
    badge: str | None  # overdue | soon | ok


@dataclass
class Row:
    task: UserTask
    appeal: Appeal
    unit_name: str | None
    claimed_by: str | None
    may_work: bool
    countdown: Countdown


class Clock:
    """`now` and the calendar in force, with the instant before which a due time is "soon"."""

    def __init__(self, session, now: datetime | None = None):
        self.now = now or clock.now()
        self.calendar = calendar_store.build(session)
        self.soon_before = office_time_after(self.calendar, self.now, standard_day(self.calendar))

    def countdown(self, due_at: datetime | None) -> Countdown:
        if due_at is None:
            return Countdown(None, None, None)
        remaining = self.calendar.working_days_between(self.now, due_at)
        badge = "overdue" if due_at <= self.now else "soon" if due_at < self.soon_before else "ok"
        return Countdown(due_at, remaining, badge)


def search(session, user, scope: str = "mine", task_kind: str | None = None, appeal_type: str | None = None,
           status: str | None = None, due: str | None = None, q: str | None = None, sort: str = "due",
           now: datetime | None = None, reaching: tuple[str, ...] = ()) -> dict:
    """Open tasks in `scope` matching every filter given, at most PAGE_SIZE of them:
    {"rows": [Row], "more": bool, "counts": {mine, claimed, unit, overdue, soon},
     "kinds": [(bpmn_id, name, form)] of the tasks the user can see}.
    The overdue and soon counts are within the scope; the others ignore the filters.

    Raises InvalidInput for an unknown scope, due filter or sort.
    """
    for name, value, allowed in (("scope", scope, SCOPES), ("due", due, DUE_FILTERS), ("sort", sort, SORTS)):
        if value is not None and value not in allowed:
            raise InvalidInput("unknown inbox filter", {name: ["取值无效"]})
    times = Clock(session, now)
    in_scope = _scope(user, scope)
    overdue = UserTask.due_at <= times.now
    soon = and_(UserTask.due_at > times.now, UserTask.due_at < times.soon_before)
    base = and_(UserTask.state == "open", _visible(user))
    # each count stops at COUNT_CAP (shown as "999+"): none reads the whole unit, or the whole
    # platform for a dispatcher
    counts = list(session.execute(select(*(_capped(and_(base, condition)) for condition in (
        _scope(user, "mine"), _scope(user, "claimed"), true(), and_(in_scope, overdue), and_(in_scope, soon))))).one())
    kinds = task_kinds(session, user)

    # first the page's task ids, in due order straight off an index on (unit, due time) or (due
    # time), joining the appeal only when a filter needs it; then the rows of those ids alone
    query = select(UserTask.id).where(base, in_scope)
    filters = [(UserTask.bpmn_id == task_kind, task_kind), (overdue, due == "overdue"), (soon, due == "soon")]
    query = query.where(*(condition for condition, wanted in filters if wanted))
    if reaching:  # tasks whose completion may reach one of these milestones (as declared)
        query = query.where(or_(*(UserTask.milestones.contains(f",{m},") for m in reaching)))
    on_appeal = [c for c, wanted in ((Appeal.appeal_type == appeal_type, appeal_type),
                                     (Appeal.status == status, status)) if wanted]
    if q and q.strip():
        on_appeal.append(or_(Appeal.number.contains(q.strip(), autoescape=True),
                             Appeal.title.contains(q.strip(), autoescape=True)))
    if on_appeal:
        query = query.join(Appeal, Appeal.id == UserTask.business_key).where(*on_appeal)
    order = {"due": (UserTask.due_at.asc().nulls_last(), UserTask.created_at),
             "-due": (UserTask.due_at.desc().nulls_last(), UserTask.created_at),
             "created": (UserTask.created_at.desc(),)}[sort]
    ids = list(session.scalars(query.order_by(*order).limit(PAGE_SIZE + 1)))
    claimer = aliased(User)
    by_id = {task.id: (task, appeal, unit, name) for task, appeal, unit, name in session.execute(
        select(UserTask, Appeal, OrganizerUnit.name, claimer.display_name)
        .join(Appeal, Appeal.id == UserTask.business_key)
        .outerjoin(OrganizerUnit, OrganizerUnit.id == UserTask.unit_id)
        .outerjoin(claimer, claimer.id == UserTask.claimed_by_id).where(UserTask.id.in_(ids[:PAGE_SIZE])))}
    rows = [Row(task, appeal, unit, name, may_work(user, task), times.countdown(task.due_at))
            for task, appeal, unit, name in (by_id[i] for i in ids[:PAGE_SIZE] if i in by_id)]
    found = ids
    return {"rows": rows, "more": len(found) > PAGE_SIZE, "kinds": [tuple(k) for k in kinds],
            "counts": dict(zip(("mine", "claimed", "unit", "overdue", "soon"), counts, strict=True))}


def page(session, user, scope: str = "mine", after: tuple | None = None, limit: int = 50) -> list[UserTask]:
    """At most `limit` open tasks in `scope`, in the API's total order: by due time (those
    without one last), then by id; only those after `after`, the (due_at, id) of the last task
    the previous page held (keyset paging: a task added between reads neither repeats nor
    pushes another off a page). Two range reads of the index on (unit_id, due_at, id), one
    for tasks with a due time and one for those without, so no page sorts the whole unit.

    Raises InvalidInput for an unknown scope.
    """
    if scope not in SCOPES:
        raise InvalidInput("unknown inbox filter", {"scope": ["取值无效"]})
    query = select(UserTask).where(UserTask.state == "open", _visible(user), _scope(user, scope))
    due, last_id = after or (None, None)
    found = []
    if after is None or due is not None:
        dated = query.where(UserTask.due_at.is_not(None))
        if after is not None:
            dated = dated.where(tuple_(UserTask.due_at, UserTask.id) > (due, last_id))
        found = list(session.scalars(dated.order_by(UserTask.due_at, UserTask.id).limit(limit)))
    if len(found) < limit:
        undated = query.where(UserTask.due_at.is_(None))
        if after is not None and due is None:
            undated = undated.where(UserTask.id > last_id)
        found += session.scalars(undated.order_by(UserTask.id).limit(limit - len(found)))
    return found


def list_units(session) -> list[OrganizerUnit]:
    """Active organizer units for pickers, grouped by region (provincial first)."""
    return list(session.scalars(select(OrganizerUnit).where(OrganizerUnit.active)
                                .options(selectinload(OrganizerUnit.region))
                                .order_by(OrganizerUnit.region_id, OrganizerUnit.id)))


def may_see(user, task: UserTask) -> bool:
    """Who may open a task's page: whoever may work it, platform staff (they see every task),
    and the staff and leaders of the task's unit."""
    if may_work(user, task):
        return True
    if user.unit_id is None:
        return user.role in PLATFORM_ROLES
    return task.unit_id == user.unit_id


def standard_day(calendar: WorkingCalendar) -> timedelta:
    """The office time of an ordinary working day (the unit of every countdown)."""
    return sum((datetime.combine(date.min, b) - datetime.combine(date.min, a) for a, b in calendar.hours),
               timedelta())


def office_time_after(calendar: WorkingCalendar, start: datetime, amount: timedelta) -> datetime:
    """The instant when `amount` of office time on working days has passed after `start`
    (the forward twin of WorkingCalendar.subtract_office_time)."""
    start = start.astimezone(calendar.tz)
    day = start.date()
    for _ in range(3660):  # at most ten years ahead
        if calendar.is_working_day(day):
            for a, b in calendar.office_hours(day):
                lo = max(start, datetime.combine(day, a, calendar.tz))
                hi = datetime.combine(day, b, calendar.tz)
                if hi <= lo:
                    continue
                if hi - lo >= amount:
                    return lo + amount
                amount -= hi - lo
        day += timedelta(days=1)
    raise ValueError("not enough office time after this instant")


COUNT_CAP = 999


def _capped(condition):
    """How many open tasks meet `condition`, up to COUNT_CAP + 1 (more than the cap): a scalar
    subquery, so that the page's counts are one statement."""
    return (select(func.count()).select_from(select(UserTask.id).where(condition).limit(COUNT_CAP + 1).subquery())
            .scalar_subquery())


_kinds_by_hash: dict[str, list[tuple[str, str, str | None, bool]]] = {}


def task_kinds(session, user) -> list[tuple[str, str, str | None]]:
    """(bpmn_id, name, form) of the user tasks the deployed versions declare that this user's
    inbox can hold (a unit's people: the tasks a unit holds), newest version's names first, by
    name; read from the diagrams (once per version), not by scanning the open tasks."""
    found: dict[str, tuple[str, str, str | None]] = {}
    for content_hash, deployment_id in session.execute(
            select(Deployment.content_hash, Deployment.id).order_by(Deployment.version.desc())):
        if content_hash not in _kinds_by_hash:
            spec, subs = repository.specs_for(session.get(Deployment, deployment_id))
            _kinds_by_hash[content_hash] = [
                (t.bpmn_id, t.bpmn_name or t.bpmn_id, t.extensions.get("properties", {}).get("formJsonSchemaFilename"),
                 "unitVariable" in t.extensions.get("properties", {}))
                for process in (spec, *subs.values()) for t in process.task_specs.values() if t.manual]
        for bpmn_id, name, form, unit_task in _kinds_by_hash[content_hash]:
            if user.unit_id is None or unit_task:
                found.setdefault(bpmn_id, (bpmn_id, name, form))
    return sorted(found.values(), key=lambda k: k[1])


def _role_is_candidate(role: str):
    # exact match inside the comma-separated list, not a substring of another role's name
    return (literal(",") + UserTask.candidate_roles + literal(",")).like(f"%,{role},%")


def _workable(user):
    """SQL twin of runtime.tasks.may_work."""
    if user.role == ADMIN:
        return true()
    unit = UserTask.unit_id == user.unit_id if user.unit_id else UserTask.unit_id.is_(None)
    centre = getattr(user, "centre_id", None)
    scope = UserTask.scope_id.is_(None) if centre is None else or_(UserTask.scope_id.is_(None), UserTask.scope_id == centre)
    return and_(_role_is_candidate(user.role), unit, scope)


def _visible(user):
    if user.role == ADMIN:
        return true()
    if user.unit_id is None and user.role in PLATFORM_ROLES:
        centre = getattr(user, "centre_id", None)
        if centre is None:
            return true()
        # the provincial centre sees every task; a city or county the tasks of the appeals it
        # holds or accepted (hotline.centres), decided in the statement
        provincial = select(Centre.parent_id).where(Centre.id == centre).scalar_subquery().is_(None)
        own = UserTask.business_key.in_(select(Appeal.id).where(
            or_(Appeal.centre_id == centre, Appeal.origin_centre_id == centre)))
        return or_(provincial, own)
    if user.unit_id is not None:
        return UserTask.unit_id == user.unit_id
    return false()


def _scope(user, scope: str):
    if scope == "claimed":
        return UserTask.claimed_by_id == user.id
    if scope == "mine":
        return and_(_workable(user), or_(UserTask.claimed_by_id.is_(None), UserTask.claimed_by_id == user.id))
    return _visible(user)
