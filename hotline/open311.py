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
- GET requests (hotline.open311_queries): any appeal, without personal data: no description
  (the appellant's own words may name people), no street address or coordinates (the region
  instead), no media. `expected_datetime` is the handling deadline, `agency_responsible` the
  lead unit, the notes the last step the appellant would care about.
"""
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from runtime import forms, repository
from runtime.errors import Forbidden, InvalidInput, NotFound
from workdays.calendar import TZ

from . import appeals, texts, time_limits
from .models import Open311Client, Open311Request

CHANNEL = "open311"
SERVICE_TYPE = "batch"  # the POST answers with a token (tokens/{token} gives the id at once)
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


def limits(session) -> dict[str, dict[str, str]]:
    """{type: the handling limits of the deployed time-limit table for it: normal, on the
    convenience-service list, urgent} (limits in the grammar of workdays.deadlines)."""
    table = _table(session)
    return {code: {case: time_limits.evaluate_xml(table, code, **flags)["handling"]
                   for case, flags in (("normal", {}), ("convenience", {"convenience_list": True}),
                                       ("urgent", {"urgent": True}))}
            for code in service_codes()}


def handling_limit(session, appeal_type: str, convenience_list: bool = False, urgent: bool = False) -> str:
    """The handling limit the deployed time-limit table gives (processes/time_limits.dmn)."""
    return time_limits.evaluate_xml(_table(session), appeal_type, convenience_list, urgent)["handling"]


def _table(session):
    return (repository.latest(session).files or {}).get(time_limits.TABLE.name) or time_limits.TABLE.read_bytes()


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
    text = address + (f"（坐标 {point}）" if point else "")
    return text or None, region


def _name(first, last) -> str | None:
    """The appellant's name: family name first without a space for Chinese names."""
    first, last = (first or "").strip(), (last or "").strip()
    if first and last and all(ord(c) > 0x2e80 for c in first + last):
        return last + first
    return " ".join(p for p in (first, last) if p) or None


def local(at: datetime | None) -> str | None:
    """ISO 8601 with the offset, in the hotline's time zone: 2026-12-02T18:35:00+08:00."""
    return at.astimezone(TZ).isoformat(timespec="seconds") if at else None
