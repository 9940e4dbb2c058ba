"""What a client system reads back through Open311 GeoReport v2 (issue 15; the mapping is
hotline.open311): GET requests' filters, the page of appeals they find, one appeal by its
number, a token's appeal, and each appeal's progress in the appellant's terms.

Any appeal may be read, a call's as well as a client's, and never with personal data: the
rows carry no description, street address, coordinates or media, only the type, the times,
the lead unit, the region and the progress. `status` is closed once the process ended.
The progress is the last of the milestones the diagrams declare and the events the
operators record (hotline.operators) that mean something to the appellant (`STEPS`).
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from runtime.errors import InvalidInput, NotFound
from runtime.models import HistoryEvent
from workdays.calendar import TZ

from .models import Appeal, Open311Request, OrganizerUnit, Region
from .open311 import UNKNOWN_REQUEST, UNKNOWN_TOKEN, service_codes

MAX_SPAN = timedelta(days=90)  # the specification's window for GET requests
MAX_PAGE = 1000  # and its page
MAX_IDS = 100


@dataclass(frozen=True)
class Query:
    numbers: tuple[str, ...] = ()  # service_request_id: overrides every other filter
    codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()
    page: int = 1
    page_size: int = MAX_PAGE


def parse_query(args: dict[str, str], now: datetime) -> Query:
    """GET requests' filters. Without dates, the last 90 days; a span may not exceed 90 days.
    A date alone is that day in Asia/Shanghai; a time needs its offset. Raises InvalidInput."""
    errors: dict[str, list[str]] = {}

    def listed(name):
        return tuple(v.strip() for v in (args.get(name) or "").split(",") if v.strip())
    page, page_size = (_number(args.get(n), n, errors, default, top)
                       for n, default, top in (("page", 1, 10**6), ("page_size", MAX_PAGE, MAX_PAGE)))
    if numbers := listed("service_request_id"):  # overrides every other filter
        if len(numbers) > MAX_IDS:
            errors["service_request_id"] = ["最多 100 个编号"]
        if errors:
            raise InvalidInput("bad query", errors)
        return Query(numbers, page=page, page_size=page_size)
    codes, statuses = listed("service_code"), listed("status")
    if any(c not in service_codes() for c in codes):
        errors["service_code"] = ["没有这个服务（见 GET services）"]
    if any(s not in ("open", "closed") for s in statuses):
        errors["status"] = ["只能是 open 或 closed"]
    start, end = _when(args.get("start_date"), "start_date", errors), _when(args.get("end_date"), "end_date", errors, end=True)
    if "start_date" not in errors and "end_date" not in errors:
        if end is None:
            end = min(start + MAX_SPAN, now) if start else now
        start = start or end - MAX_SPAN
        if start > end:
            errors["end_date"] = ["早于 start_date"]
        elif end - start > MAX_SPAN:
            errors["end_date"] = ["与 start_date 相隔不能超过 90 天"]
    if errors:
        raise InvalidInput("bad query", errors)
    return Query((), codes, start, end, statuses, page, page_size)


def _when(value, name, errors, end: bool = False) -> datetime | None:
    """A W3C time; a day alone: its start in Asia/Shanghai, or for an end its last instant."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:  # a day
            start = datetime.combine(datetime.fromisoformat(value).date(), time(), TZ)
            return start + timedelta(days=1, microseconds=-1) if end else start
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors[name] = ["应为带时区的 W3C 日期时间，如 2026-12-01T00:00:00+08:00，或日期 2026-12-01"]
        return None
    return parsed


def _number(value, name, errors, default, top) -> int:
    value = (value or "").strip()
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= top:
        errors[name] = [f"应为 1 至 {top} 的整数"]
        return default
    return int(value)


@dataclass(frozen=True)
class Progress:
    """The last step the appellant would care about, for the request's status notes: `kind`
    (received, assessed, dispatched, signed_for, extended, returned, replied, rehandled,
    evaluated, closed), the lead unit's name, the days of an extension, the status the appeal
    closed in and its evaluation."""
    kind: str
    unit: str | None = None
    days: int = 0
    status: str | None = None
    satisfaction: str | None = None


# what the diagrams' milestones and the operators' events (hotline.operators) mean to the appellant
STEPS = {"assessed": "assessed", "dispatched": "dispatched", "signed_for": "signed_for", "returned": "returned",
         "closure_rejected": "signed_for", "replied": "replied", "closure_reviewed": "replied",
         "appellant_evaluated": "evaluated", "extension_decided": "extended", "rehandle_started": "rehandled",
         "evaluated": "evaluated"}
EVENTS = ("milestone_reached", "extension_decided", "rehandle_started", "evaluated")


@dataclass
class Found:
    appeal: Appeal
    progress: Progress
    unit: str | None = None
    region: tuple[str, str] | None = None  # (code, full name)


def find(session, query: Query) -> tuple[list[Found], bool]:
    """The query's page of appeals, oldest first, and whether another page follows."""
    select_appeals = select(Appeal)
    if query.numbers:
        select_appeals = select_appeals.where(Appeal.number.in_(query.numbers))
    else:
        select_appeals = select_appeals.where(Appeal.accepted_at >= query.start, Appeal.accepted_at <= query.end)
        if query.codes:
            select_appeals = select_appeals.where(Appeal.appeal_type.in_(query.codes))
        if set(query.statuses) == {"open"}:
            select_appeals = select_appeals.where(Appeal.closed_at.is_(None))
        elif set(query.statuses) == {"closed"}:
            select_appeals = select_appeals.where(Appeal.closed_at.is_not(None))
    rows = list(session.scalars(select_appeals.order_by(Appeal.accepted_at, Appeal.id)
                                .offset((query.page - 1) * query.page_size).limit(query.page_size + 1)))
    return described(session, rows[:query.page_size]), len(rows) > query.page_size


def get(session, number: str) -> Found:
    """One appeal by its number. Raises NotFound."""
    appeal = session.scalar(select(Appeal).where(Appeal.number == number))
    if appeal is None:
        raise NotFound(f"service_request_id {number} was not found", UNKNOWN_REQUEST)
    return described(session, [appeal])[0]


def by_token(session, token: str) -> str:
    """The number of the appeal a POST answered with this token. Raises NotFound."""
    number = session.scalar(select(Appeal.number).join(Open311Request, Open311Request.appeal_id == Appeal.id)
                            .where(Open311Request.token == token))
    if number is None:
        raise NotFound(f"token {token} was not found", UNKNOWN_TOKEN)
    return number


def described(session, rows: list[Appeal]) -> list[Found]:
    """Appeals with their lead unit, region and progress (three queries for the lot)."""
    unit_ids = {a.lead_unit_id for a in rows if a.lead_unit_id}
    units = dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)
                                 .where(OrganizerUnit.id.in_(unit_ids))).all()) if unit_ids else {}
    regions = {r.id: r for r in session.scalars(select(Region))} if any(a.region_id for a in rows) else {}
    last: dict[int, HistoryEvent] = {}
    if rows:
        for event in session.scalars(select(HistoryEvent).where(
                HistoryEvent.business_key.in_([a.id for a in rows]), HistoryEvent.action.in_(EVENTS))
                .order_by(HistoryEvent.id)):
            step = (event.detail or {}).get("milestone") if event.action == "milestone_reached" else event.action
            if step in STEPS and not (step == "extension_decided" and not (event.detail or {}).get("approved")):
                last[event.business_key] = event
    found = []
    for appeal in rows:
        unit = units.get(appeal.lead_unit_id)
        found.append(Found(appeal, _progress(appeal, last.get(appeal.id), unit), unit,
                           _region(regions, appeal.region_id)))
    return found


def _progress(appeal: Appeal, event: HistoryEvent | None, unit: str | None) -> Progress:
    if appeal.closed_at is not None:
        return Progress("closed", unit, status=appeal.status, satisfaction=appeal.satisfaction)
    if event is None:
        return Progress("received", unit)
    detail = event.detail or {}
    step = STEPS[detail.get("milestone") if event.action == "milestone_reached" else event.action]
    return Progress(step, unit, days=int(detail.get("days") or 0) if step == "extended" else 0)


def _region(regions: dict, region_id: int | None) -> tuple[str, str] | None:
    """(code, full name): 福建省福州市鼓楼区."""
    region = regions.get(region_id)
    if region is None:
        return None
    names, seen = [], region
    while seen is not None and len(names) < 5:
        names.append(seen.name)
        seen = regions.get(seen.parent_id)
    return region.code, "".join(reversed(names))