"""The public portal (issue 15; Art. 2, 3): citizens file an appeal online, track it and
evaluate it without an account, the phone proved by a one-time SMS code (hotline.portal_codes).

Rules:
- a submission enters the same process as a call (hotline.appeals.register) with channel
  `web` and waits for 受理研判 like one. Its actor is the portal's own user ACTOR_USERNAME,
  shown as "诉求人（网上）": history says who filed it, and no one can sign in as it (inactive,
  a name no account can have, no password);
- the title is the content's first line, cut to TITLE_LENGTH; the location is the address
  given, followed by the coordinates of a point the phone sent or the visitor typed, "(lat, lon)";
- photos take the checks of staff uploads (hotline.attachments), in the submission's
  transaction; at most MAX_PHOTOS;
- the code is consumed, the photos stored and the SMS with the appeal's number written in the
  transaction that registers the appeal: a refused submission leaves no appeal, no file and
  the code unused;
- limits: SUBMISSIONS_PER_NUMBER per phone and SUBMISSIONS_PER_ADDRESS per client address
  within SUBMISSION_WINDOW, counted from the submit codes used (`Limited`, HTTP 429); a code
  to submit is not sent to a number or an address that has reached its limit;
- tracking: a code is sent only when the phone is the one the appeal was filed with, and the
  answer is the same either way, so the portal tells no one whose appeal a number is;
- evaluation: the appellant completes on the portal the step their SMS link would
  (hotline.return_visits); the appeal's links then count as used.
"""
import os
import re
import unicodedata

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from runtime import clock, history, tasks
from runtime.errors import InvalidInput, NotFound
from runtime.models import Notification

from . import appeals, knowledge, portal_codes, return_visits
from .attachments import Upload
from .models import APPEAL_TYPES, Appeal, AppellantContact, EvaluationLink, PortalCode, User
from .portal_codes import Limited

ACTOR_USERNAME = "@web"  # hotline.accounts.USERNAME refuses it: no one signs in with it
ACTOR_NAME = "诉求人（网上）"
ACTOR_ROLE = "appellant"  # no capability (hotline.access)
TITLE_LENGTH = 30
CONTENT_MIN, CONTENT_MAX, ADDRESS_MAX, NAME_MAX, COMMENT_MAX = 5, 5000, 150, 50, 2000
MAX_PHOTOS = 3
KINDS = ("citizen", "company", "organisation")
EVALUATIONS = ("satisfied", "basically_satisfied", "dissatisfied")
SUBMISSION_WINDOW = portal_codes.KEEP_FOR / 2  # a day
SUBMISSIONS_PER_NUMBER = 3
SUBMISSIONS_PER_ADDRESS = 10
NUMBER = re.compile(r"[A-Z]{1,4}\d{8}-\d{6}")
_UNPRINTABLE = re.compile(r"[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")
FILED_SMS = {"zh": "【12345】您的诉求已登记，编号 {number}。凭编号和本手机号可在 {url} 查询办理进度。",
             "en": "[12345] Your appeal is registered as {number}. Track it with this number and your phone "
                   "at {url}."}


def actor(db) -> User:
    """The portal's own user (created on first use, with its history record)."""
    with db.read() as session:
        found = session.scalar(select(User).where(User.username == ACTOR_USERNAME))
    if found is not None:
        return found
    try:
        with db.transaction() as session:
            user = User(username=ACTOR_USERNAME, display_name=ACTOR_NAME, role=ACTOR_ROLE, password_hash="!",
                        active=False)
            session.add(user)
            session.flush()
            history.record(session, "user_created", detail={"user_id": user.id, "system": "public portal"})
    except IntegrityError:
        pass  # another submission created it first
    with db.read() as session:
        return session.scalar(select(User).where(User.username == ACTOR_USERNAME))


# -- submitting --------------------------------------------------------------------------------

def request_submit_code(db, phone_text: str, address: str, language: str = "zh") -> None:
    """Send a code to prove the phone an appeal will be filed with. Raises InvalidInput
    ({"phone": [...]}), Limited."""
    phone = portal_codes.mobile(phone_text)
    with db.transaction() as session:
        _submission_limits(session, phone, address)
        portal_codes.send(session, "submit", phone, address, language=language)


def submit(db, form: dict, photos: list[Upload], address: str, language: str = "zh") -> Appeal:
    """File an appeal from the portal's form: appeal_type, content, location, region_code,
    latitude, longitude, confidential, agrees_to_disclose, kind, name, phone, code.
    Raises InvalidInput (per field, the code's under "code"), Limited, Conflict (code_used:
    the form was sent twice), NotFound (nothing deployed)."""
    data, errors = _appeal_data(form)
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = ["最多上传 3 张照片"]
    if errors:
        raise InvalidInput("the appeal is incomplete", errors)
    phone = data["appellant"]["phone"]
    with db.read() as session:
        _submission_limits(session, phone, address)
    checked = portal_codes.check(db, "submit", phone, form.get("code", ""))
    filer = actor(db)

    def file(session, appeal):
        code = portal_codes.consume(session, checked, appeal.id)
        code.address = address[:64]  # the submission counts against the address that sent it
        _submission_limits(session, phone, address, mine=code.id)
        for photo in photos:
            try:
                photo.store(session, appeal.id, filer)
            except InvalidInput as err:
                raise InvalidInput(str(err), {"photos": err.fields.get("file", [])}, err.reason) from err
        body = FILED_SMS["en" if language == "en" else "zh"].format(number=appeal.number, url=public_url("/public/track"))
        session.add(Notification(business_key=appeal.id, channel="sms", recipient=phone, body=body))
    return appeals.register(db, data, filer, after=file)


def _appeal_data(form: dict) -> tuple[dict, dict]:
    """The registration data (hotline.appeals.checked) and the portal's own field messages."""
    errors: dict[str, list[str]] = {}
    text = {k: (form.get(k) or "").strip() for k in ("appeal_type", "content", "location", "region_code", "kind",
                                                       "name", "latitude", "longitude")}
    if text["appeal_type"] not in APPEAL_TYPES:
        errors["appeal_type"] = ["请选择诉求类型"]
    if len(text["content"]) < CONTENT_MIN:
        errors["content"] = ["请写明诉求内容（至少 5 个字）：时间、地点、事由和您的要求"]
    elif len(text["content"]) > CONTENT_MAX:
        errors["content"] = ["诉求内容不超过 5000 字"]
    if len(text["location"]) > ADDRESS_MAX:
        errors["location"] = ["地址不超过 150 字"]
    if len(text["name"]) > NAME_MAX:
        errors["name"] = ["称呼不超过 50 字"]
    point = _point(text["latitude"], text["longitude"], errors)
    confidential, agrees = bool(form.get("confidential")), bool(form.get("agrees_to_disclose"))
    if confidential and agrees:
        errors["agrees_to_disclose"] = ["要求身份保密时，不能同时同意向承办单位公开身份"]
    try:
        phone = portal_codes.mobile(form.get("phone") or "")
    except InvalidInput as err:
        errors.update(err.fields)
        phone = ""
    location = " ".join(p for p in (text["location"], point) if p)
    person = {"kind": text["kind"] if text["kind"] in KINDS else "citizen", "phone": phone,
              "agrees_to_disclose": agrees, **({"name": text["name"]} if text["name"] else {})}
    data = {"channel": "web", "appeal_type": text["appeal_type"], "title": title_of(text["content"]),
            "content": text["content"], "confidential": confidential, "appellant": person,
            **({"location": location} if location else {}),
            **({"region_code": text["region_code"]} if text["region_code"] else {})}
    if not errors:
        try:
            data = appeals.checked(data)
        except InvalidInput as err:
            for field, messages in err.fields.items():
                name = "content" if field == "title" else field.removeprefix("appellant.")  # the title is made
                errors.setdefault(name, []).extend(messages)
    return data, errors


def _point(latitude: str, longitude: str, errors: dict) -> str:
    """"(26.08123, 119.29876)" of a point given by both coordinates, "" when none is."""
    if not latitude and not longitude:
        return ""
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        lat = lon = float("nan")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        errors["point"] = ["坐标无效：纬度在 -90 到 90 之间，经度在 -180 到 180 之间，两者都要填写"]
        return ""
    return f"({lat:.5f}, {lon:.5f})"


def title_of(content: str) -> str:
    """The appeal's title: the content's first line, without control characters, cut to
    TITLE_LENGTH characters."""
    line = next((line.strip() for line in content.splitlines() if line.strip()), "")
    line = _UNPRINTABLE.sub("", line)
    return line if len(line) <= TITLE_LENGTH else line[:TITLE_LENGTH - 1] + "…"


def _submission_limits(session, phone: str, address: str, mine: int | None = None) -> None:
    """Raises Limited when the phone or the address filed its share within the window (`mine`:
    the code of the submission being made, counted once it is used)."""
    now = clock.now()
    for column, value, most, reason in (
            (PortalCode.phone, phone, SUBMISSIONS_PER_NUMBER, "submissions_per_number"),
            (PortalCode.address, address[:64], SUBMISSIONS_PER_ADDRESS, "submissions_per_address")):
        used = list(session.scalars(select(PortalCode.used_at).where(
            PortalCode.purpose == "submit", column == value, PortalCode.used_at > now - SUBMISSION_WINDOW,
            PortalCode.id != (mine or 0)).order_by(PortalCode.used_at)))
        if len(used) >= most:
            raise Limited(f"too many submissions ({reason})", reason,
                          (used[-most] + SUBMISSION_WINDOW - now).total_seconds())


def public_url(path: str) -> str:
    """The portal's address for SMS texts (PUBLIC_BASE_URL, as the evaluation links')."""
    return os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/") + path


# -- tracking ----------------------------------------------------------------------------------

def appeal_number(text: str) -> str:
    """An appeal number as people may type it (lower case, full-width). Raises InvalidInput."""
    number = unicodedata.normalize("NFKC", text or "").strip().upper()
    if not NUMBER.fullmatch(number):
        raise InvalidInput("not an appeal number", {"number": ["请填写短信中的诉求编号，如 FJ20261130-000123"]})
    return number


def request_track_code(db, number_text: str, phone_text: str, address: str, language: str = "zh") -> None:
    """Send a code to the phone an appeal was filed with, when it is `phone_text`; otherwise
    the same is done without an SMS. Raises InvalidInput, Limited."""
    number, phone = _number_and_phone(number_text, phone_text)
    with db.transaction() as session:
        appeal_id = _filed_with(session, number, phone)
        portal_codes.send(session, "track", phone, address, appeal_id, language, deliver=appeal_id is not None)


def open_tracking(db, number_text: str, phone_text: str, code: str) -> int:
    """The appeal the code opens (its id), the code consumed. A number and phone that do not
    belong together are refused like a wrong code. Raises InvalidInput."""
    number, phone = _number_and_phone(number_text, phone_text)
    with db.read() as session:
        appeal_id = _filed_with(session, number, phone)
    if appeal_id is None:
        raise InvalidInput("no such code", {"code": [portal_codes.WRONG]}, "code_wrong")
    checked = portal_codes.check(db, "track", phone, code, appeal_id)
    with db.transaction() as session:
        portal_codes.consume(session, checked)
        history.record(session, "tracked_on_portal", business_key=appeal_id, detail={"code_id": checked.code_id})
    return appeal_id


def _number_and_phone(number_text: str, phone_text: str) -> tuple[str, str]:
    """Raises InvalidInput with the messages of both fields."""
    errors, found = {}, []
    for parse, text in ((appeal_number, number_text), (portal_codes.mobile, phone_text)):
        try:
            found.append(parse(text))
        except InvalidInput as err:
            errors.update(err.fields)
    if errors:
        raise InvalidInput("no appeal number or phone", errors)
    return found[0], found[1]


def _filed_with(session, number: str, phone: str) -> int | None:
    return session.scalar(select(Appeal.id).join(AppellantContact, AppellantContact.appeal_id == Appeal.id)
                          .where(Appeal.number == number, AppellantContact.phone == phone))


# -- evaluating --------------------------------------------------------------------------------

def evaluation_open(session, appeal_id: int) -> bool:
    """Is it the appellant's turn to evaluate (the step their SMS link completes is open)?"""
    return tasks.open_reaching(session, appeal_id, return_visits.EVALUATED) is not None


def evaluate(db, appeal_id: int, evaluation: str, resolved: bool | None, comment: str) -> None:
    """The appellant's evaluation from the portal. Raises InvalidInput, Conflict (task_done:
    no longer their turn)."""
    if evaluation not in EVALUATIONS:
        raise InvalidInput("no evaluation", {"evaluation": ["请选择一项评价"]})
    if len(comment) > COMMENT_MAX:
        raise InvalidInput("comment too long", {"comment": ["意见不超过 2000 字"]})
    data = {"visit_method": "sms_link", "evaluation": evaluation,
            **({"resolved": resolved} if resolved is not None else {}), **({"comment": comment} if comment else {})}

    def links_used(session, _task):
        session.execute(update(EvaluationLink).where(EvaluationLink.appeal_id == appeal_id,
                                                     EvaluationLink.used_at.is_(None)).values(used_at=clock.now()))
        history.record(session, "evaluated_on_portal", business_key=appeal_id)

    tasks.complete_reaching(db, appeal_id, return_visits.EVALUATED, data, after=links_used)


# -- the public FAQ ----------------------------------------------------------------------------

def faq(session, query: str, limit: int = 20) -> list[knowledge.Hit]:
    """Public articles matching `query` (the knowledge base's search), the newest when empty."""
    return knowledge.search(session, query, limit=limit, public_only=True)


def suggestions(session, content: str, limit: int = 3) -> list[knowledge.Hit]:
    """Public articles that may answer what the visitor wrote."""
    return knowledge.suggest(session, content, limit=limit, public_only=True) if content.strip() else []


def faq_article(session, article_id: int) -> dict:
    """A public article with its unit's name (no editor). Raises NotFound."""
    found = knowledge.detail(session, article_id)
    if not (found["article"].public and found["article"].active):
        raise NotFound(f"knowledge article {article_id} is not public")
    return {"article": found["article"], "unit_name": found["unit_name"]}
