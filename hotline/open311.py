"""Open311 GeoReport v2 and the hotline (issue 15): how a client system's request becomes an
appeal, and what of an appeal the API gives back. The README's "Open311" section is the table
of this mapping; web/open311 speaks the protocol (formats, errors, texts).

- A service is an appeal type of the intake form (service_code = the type); its attributes are
  the intake's decisions a caller may ask for (urgency, the convenience-service list,
  confidentiality, disclosure to the unit, the kind of appellant) and a title.
- POST requests: an appeal on channel `open311`, registered as a call is (hotline.appeals:
  the intake form's rules, the phone through hotline.phones), so it waits in 受理研判 like any
  other, registered by the client's own account (history names "Open311 <client>"). The
  answer is a token (service type `batch`): tokens/{token} gives the request id, the
  appeal's number. The client and its account id for the person are kept with the token.
- GET requests: any appeal, by number, type, acceptance time and open/closed, without personal
  data: no description (the appellant's own words may name people), no street address or
  coordinates (the region instead), no media. `status` is closed once the process ended;
  `expected_datetime` the handling deadline; `agency_responsible` the lead unit; the notes
  say in plain words the last step the appellant would care about (`Progress`).
"""
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from runtime import forms, repository
from runtime.errors import Forbidden, InvalidInput, NotFound
from runtime.models import HistoryEvent
from workdays.calendar import TZ

from . import appeals, texts, time_limits
from .models import Appeal, Open311Client, Open311Request, OrganizerUnit, Region

CHANNEL = "open311"
SERVICE_TYPE = "batch"  # the POST answers with a token (tokens/{token} gives the id at once)
MAX_SPAN = timedelta(days=90)  # the specification's window for GET requests
MAX_PAGE = 1000  # and its page
MAX_IDS = 100
TITLE_CHARS = 30  # a title made from the description's first line
BOOLEAN = ("true", "false")
UNKNOWN_SERVICE, UNKNOWN_REQUEST, UNKNOWN_TOKEN = "unknown_service_code", "unknown_request", "unknown_token"


@dataclass(frozen=True)
class Attribute:
    """A service attribute and the intake field it fills; `values` None: the field's enum."""
    code: str
    datatype: str  # string | singlevaluelist
    order: int
    field: str
    values: tuple[str, ...] | None = BOOLEAN


ATTRIBUTES = (
    Attribute("title", "string", 1, "title", ()),
    Attribute("urgent", "singlevaluelist", 2, "urgent"),
    Attribute("convenience_list", "singlevaluelist", 3, "convenience_list"),
    Attribute("confidential", "singlevaluelist", 4, "confidential"),
    Attribute("agrees_to_disclose", "singlevaluelist", 5, "appellant.agrees_to_disclose"),
    Attribute("appellant_kind", "singlevaluelist", 6, "appellant.kind", None),
)
# the intake form's fields by the Open311 parameter that fills them (for error messages)
PARAMETERS = {"appeal_type": "service_code", "content": "description", "location": "address_string",
              "region_code": "address_id", "appellant.phone": "phone", "appellant.name": "first_name",
              **{a.field: f"attribute[{a.code}]" for a in ATTRIBUTES}}


def service_codes() -> list[str]:
    """The appeal types of the intake form, in its order."""
    return list(forms.load(appeals.INTAKE_FORM)[0]["properties"]["appeal_type"]["enum"])


def values_of(attribute: Attribute) -> tuple[str, ...]:
    if attribute.values is not None:
        return attribute.values
    node = forms.load(appeals.INTAKE_FORM)[0]
    for part in attribute.field.split("."):
        node = node["properties"][part]
    return tuple(node["enum"])


def limits(session, appeal_type: str) -> dict[str, str]:
    """The handling limits of a type in the deployed time-limit table: normal, on the
    convenience-service list, urgent (limits in the grammar of workdays.deadlines)."""
    return {case: handling_limit(session, appeal_type, **flags)
            for case, flags in (("normal", {}), ("convenience", {"convenience_list": True}),
                                ("urgent", {"urgent": True}))}


def handling_limit(session, appeal_type: str, convenience_list: bool = False, urgent: bool = False) -> str:
    """The handling limit the deployed time-limit table gives (processes/time_limits.dmn)."""
    table = (repository.latest(session).files or {}).get(time_limits.TABLE.name) or time_limits.TABLE.read_bytes()
    return time_limits.evaluate_xml(table, appeal_type, convenience_list, urgent)["handling"]


def changeset(session) -> datetime:
    """When the services last changed: the newest deployment (its forms and time limits)."""
    return repository.latest(session).deployed_at


# -- POST requests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    """What the POST answers: the token, the client's account id, and what the notice tells."""
    token: str
    account_id: str | None
    appeal_type: str
    handling_limit: str


def submit(db, client: Open311Client, account, params: dict[str, str], after=None) -> Receipt:
    """File a client system's request as an appeal, in one transaction with its token, by the
    client's account (`client` and `account` as hotline.open311_clients.authenticate found
    them). `params` are the POST's fields (attribute[code] flat). `after(session, receipt)`
    runs last in the transaction (the idempotency key).

    Raises NotFound (unknown service_code), InvalidInput (fields named as the specification
    names them), Forbidden (the key was revoked meanwhile)."""
    data = intake_data(params)
    account_id = (params.get("account_id") or "").strip()[:100] or None
    receipt = []

    def record(session, appeal):
        if session.scalar(select(Open311Client.revoked_at).where(Open311Client.id == client.id)) is not None:
            raise Forbidden("api_key is not valid", "api_key_invalid")  # revoked meanwhile
        token = secrets.token_hex(16)
        session.add(Open311Request(appeal_id=appeal.id, client_id=client.id, token=token, account_id=account_id))
        limit = handling_limit(session, appeal.appeal_type, appeal.convenience_list, appeal.urgent)
        receipt.append(Receipt(token, account_id, appeal.appeal_type, limit))
        if after is not None:
            after(session, receipt[0])
    try:
        appeals.register(db, data, account, record)  # history: "Open311 <client name>" registered it
    except InvalidInput as err:
        raise InvalidInput(str(err), {PARAMETERS.get(k, k): v for k, v in err.fields.items()}) from err
    return receipt[0]


def intake_data(params: dict[str, str]) -> dict:
    """The intake form's data for a POST's fields. Raises NotFound (unknown service_code),
    InvalidInput (per parameter; what the intake form refuses is found by appeals.register)."""
    errors: dict[str, list[str]] = {}
    code = (params.get("service_code") or "").strip()
    if not code:
        raise InvalidInput("service_code was not provided", {"service_code": ["请提供 service_code"]})
    if code not in service_codes():
        raise NotFound(f"service_code {code} was not found", UNKNOWN_SERVICE)
    content = (params.get("description") or "").strip()
    if not content:
        errors["description"] = ["请填写诉求内容"]
    if media := (params.get("media_url") or "").strip():
        if not media.startswith(("https://", "http://")) or len(media) > 500:
            errors["media_url"] = ["应为 http(s) 链接，不超过 500 个字符"]
        content += f"\n\n媒体链接：{media}"
    location, region = _location(params, errors)
    chosen = {}
    known = {f"attribute[{a.code}]": a for a in ATTRIBUTES}
    for param, value in params.items():
        if param.startswith("attribute[") and param not in known:
            errors[param] = ["该服务没有这个属性"]
        elif param in known and (value or "").strip():
            attribute, value = known[param], value.strip()
            if attribute.values and value not in values_of(attribute):
                errors[param] = ["不是该属性的可选值（见 GET services/{service_code}）"]
            else:
                chosen[attribute.field] = value == "true" if attribute.values == BOOLEAN else value
    if errors:
        raise InvalidInput("the request has invalid fields", errors)
    person = {"kind": chosen.pop("appellant.kind", "citizen"),
              "agrees_to_disclose": chosen.pop("appellant.agrees_to_disclose", False)}
    if name := _name(params.get("first_name"), params.get("last_name")):
        person["name"] = name
    if phone := (params.get("phone") or "").strip():
        person["phone"] = phone
    else:
        raise InvalidInput("phone is required", {"phone": ["请填写诉求人的联系电话（热线回访和答复都要用到）"]})
    first_line = texts.UNSAFE_IN_LINE.sub("", content.splitlines()[0]).strip() if content else ""
    title = chosen.pop("title", None) or first_line[:TITLE_CHARS] + ("…" if len(first_line) > TITLE_CHARS else "")
    data = {"channel": CHANNEL, "appeal_type": code, "title": title, "content": content, "appellant": person,
            **chosen}
    if location:
        data["location"] = location
    if region:
        data["region_code"] = region
    return data


def _location(params: dict, errors: dict) -> tuple[str | None, str | None]:
    """(the appeal's location text, its region code): address_string, lat & long (WGS84, kept in
    the text for the staff), address_id (a 6-digit administrative division code). One is required."""
    address = (params.get("address_string") or "").strip()
    lat, long = (params.get("lat") or "").strip(), (params.get("long") or "").strip()
    region = (params.get("address_id") or "").strip() or None
    point = None
    if lat or long:
        try:
            y, x = float(lat), float(long)
            if not (-90 <= y <= 90 and -180 <= x <= 180):
                raise ValueError
            point = f"{y:.6f}, {x:.6f}"
        except ValueError:
            errors["lat"] = ["lat 与 long 应同时提供，为 WGS84 十进制度数"]
    if not (address or point or region or "lat" in errors):
        errors["address_string"] = ["请提供 lat 与 long、address_string 或 address_id 之一"]
    text = " ".join(p for p in (address, f"（坐标 {point}）" if point else "") if p)
    return text or None, region


def _name(first, last) -> str | None:
    """The appellant's name: family name first without a space for Chinese names."""
    first, last = (first or "").strip(), (last or "").strip()
    if first and last and all(ord(c) > 0x2e80 for c in first + last):
        return last + first
    return " ".join(p for p in (first, last) if p) or None


# -- GET requests ------------------------------------------------------------------------------

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
    start, end = _when(args.get("start_date"), "start_date", errors), _when(args.get("end_date"), "end_date", errors, 1)
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


def _when(value, name, errors, days_after: int = 0) -> datetime | None:
    """A W3C time; a day alone: its start in Asia/Shanghai (`days_after` 1: the next day's, for an end)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:  # a day
            return datetime.combine(datetime.fromisoformat(value).date() + timedelta(days=days_after), time(), TZ)
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


def local(at: datetime | None) -> str | None:
    """ISO 8601 with the offset, in the hotline's time zone: 2026-12-02T18:35:00+08:00."""
    return at.astimezone(TZ).isoformat(timespec="seconds") if at else None
