"""Appeals: intake, numbering, visibility, and what units may see of the appellant."""
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from runtime import clock, forms, history, instances
from runtime.errors import Forbidden, InvalidInput, NotFound, ProcessError
from runtime.models import UserTask
from workdays import calendar

from . import centres, phones
from .access import ORGANIZER_ROLES, can
from .models import (
    Appeal,
    AppealCounter,
    AppealUnit,
    AppellantContact,
    Attachment,
    ContactGrant,
    Region,
    User,
)

INTAKE_FORM = "register_appeal.schema.json"
NUMBER_PREFIX = "FJ"


def next_number(session, at: datetime) -> str:
    """FJ20261130-000123: a per-day sequence (Asia/Shanghai day), safe under concurrency."""
    day = at.astimezone(calendar.TZ).strftime("%Y%m%d")
    for _ in range(3):
        result = session.execute(update(AppealCounter).where(AppealCounter.day == day)
                                 .values(last=AppealCounter.last + 1).returning(AppealCounter.last))
        last = result.scalar()
        if last is not None:
            return f"{NUMBER_PREFIX}{day}-{last:06d}"
        try:
            with session.begin_nested():
                session.add(AppealCounter(day=day, last=1))
            return f"{NUMBER_PREFIX}{day}-{1:06d}"
        except IntegrityError:
            continue  # another transaction created the day's row first
    raise ProcessError("could not allocate an appeal number")


def register(db, data: dict, actor, after=None) -> Appeal:
    """Accept an appeal and start its process in one transaction. The process starts with the
    appeal's id and what intake decided (type, urgency, lists, confidentiality); everything else
    it keeps, the diagram sets itself (its start script task). The appeal's status comes from
    the diagram (hotline.statuses). `after(session, appeal)` runs last in the same transaction
    (the caller's idempotency key, runtime.idempotency).

    Raises InvalidInput (bad data or unknown region), NotFound (nothing deployed).
    """
    data = checked(data)
    with db.transaction() as session:
        region_id = None
        if data.get("region_code"):
            region_id = session.scalar(select(Region.id).where(Region.code == data["region_code"]))
            if region_id is None:
                raise InvalidInput("unknown region", {"region_code": ["行政区划代码不存在"]})
        now = clock.now()
        centre_id = centres.accepting(session, actor, region_id)
        appeal = Appeal(centre_id=centre_id, origin_centre_id=centre_id,
            number=next_number(session, now), appeal_type=data["appeal_type"], channel=data["channel"],
            status="", title=data["title"], content=data["content"], location=data.get("location"),
            region_id=region_id, urgent=data.get("urgent", False),
            convenience_list=data.get("convenience_list", False), confidential=data.get("confidential", False),
            accepted_at=now, created_by_id=getattr(actor, "id", None))
        session.add(appeal)
        session.flush()
        person = data["appellant"]
        session.add(AppellantContact(appeal_id=appeal.id, kind=person["kind"], name=person.get("name"),
                                     phone=person["phone"], id_number=person.get("id_number"),
                                     agrees_to_disclose=person.get("agrees_to_disclose", False)))
        history.record(session, "appeal_registered", business_key=appeal.id, actor_id=getattr(actor, "id", None),
                       detail={"number": appeal.number, "channel": appeal.channel, "type": appeal.appeal_type})
        instances.start(session, appeal.id, actor, {
            "appeal_id": appeal.id, "appeal_type": appeal.appeal_type, "urgent": appeal.urgent,
            "convenience_list": appeal.convenience_list, "confidential": appeal.confidential,
            "centre_id": centre_id})
        if after is not None:
            after(session, appeal)
        return appeal


def checked(data: dict) -> dict:
    """`data` as the intake form accepts it, the appellant's phone in E.164 (hotline.phones).
    Raises InvalidInput with the messages of every field, the phone's among them."""
    errors = {}
    try:
        forms.validate(INTAKE_FORM, data)
    except InvalidInput as err:
        if not isinstance(data, dict):
            raise
        errors.update(err.fields)
    person = data.get("appellant")
    if isinstance(person, dict) and isinstance(person.get("phone"), str) and "appellant.phone" not in errors:
        try:
            data = {**data, "appellant": {**person, "phone": phones.normalise(person["phone"], "appellant.phone")}}
        except InvalidInput as err:
            errors.update(err.fields)
    if errors:
        raise InvalidInput("submitted data does not match the form", errors)
    return data


def get(session, appeal_id: int) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} does not exist")
    return appeal


def mask_phone(phone: str) -> str:
    """138****1234: organizer units see no full number unless granted (DESIGN §2)."""
    return phones.mask(phone)


def appellant_view(contact: AppellantContact, appeal: Appeal, user, granted: bool = False) -> dict:
    """What `user` may see of the appellant. Platform staff see everything; organizer units see
    a masked phone, and a name only with the appellant's consent; nothing if confidential.
    A supervisor's grant to the user's unit (hotline.privacy) shows name and full phone, but
    never on a confidential appeal: the appellant's own request wins over the grant."""
    if user.unit_id is None:
        return {"kind": contact.kind, "name": contact.name, "phone": contact.phone, "masked": False}
    if appeal.confidential:
        return {"kind": contact.kind, "name": None, "phone": None, "masked": True}
    if granted:
        return {"kind": contact.kind, "name": contact.name, "phone": contact.phone, "masked": False}
    name = contact.name if contact.agrees_to_disclose else None
    return {"kind": contact.kind, "name": name, "phone": mask_phone(contact.phone), "masked": True}


def can_view(session, user, appeal: Appeal) -> bool:
    """Platform staff see their centre's appeals (the provincial centre: every appeal, see
    hotline.centres); organizer staff only those their unit currently holds (a unit that returned
    an appeal, or was replaced, no longer sees it)."""
    if can(user, "read_all_appeals"):
        return centres.may_read(session, user, appeal)
    if user.role in ORGANIZER_ROLES and user.unit_id is not None:
        return session.scalar(select(AppealUnit.id).where(
            AppealUnit.appeal_id == appeal.id, AppealUnit.unit_id == user.unit_id, AppealUnit.active)
            .limit(1)) is not None
    return False


def get_visible(session, appeal_id: int, user) -> Appeal:
    """Raises NotFound, Forbidden."""
    appeal = get(session, appeal_id)
    if not can_view(session, user, appeal):
        raise Forbidden("this appeal is not dispatched to your unit" if user.unit_id else
                        "this appeal belongs to another centre")
    return appeal


def detail(db, appeal_id: int, user) -> dict:
    """Everything one appeal page shows, as `user` may see it. A read of the appellant by
    organizer staff is recorded (PIPL), so this is a transaction. Raises NotFound, Forbidden."""
    with db.transaction() as session:
        appeal = get_visible(session, appeal_id, user)
        _ = appeal.centre, appeal.origin_centre  # shown on the page, after this session
        contact = session.scalar(select(AppellantContact).where(AppellantContact.appeal_id == appeal.id))
        grant_id = None if user.unit_id is None or appeal.confidential else session.scalar(
            select(ContactGrant.id).where(ContactGrant.appeal_id == appeal.id, ContactGrant.unit_id == user.unit_id,
                                          ContactGrant.revoked_at.is_(None)).limit(1))
        view = appellant_view(contact, appeal, user, granted=grant_id is not None)
        if user.unit_id is not None:
            shown = {"shown": sorted(k for k in ("name", "phone") if view[k])}
            history.record(session, "appellant_viewed", business_key=appeal.id, actor_id=user.id,
                           detail={**shown, "grant_id": grant_id} if grant_id else shown)
        session.flush()
        open_tasks = list(session.scalars(select(UserTask).where(
            UserTask.business_key == appeal.id, UserTask.state == "open").order_by(UserTask.created_at)))
        files = list(session.scalars(select(Attachment).where(Attachment.appeal_id == appeal.id)
                                     .order_by(Attachment.id)))
        events = history.for_key(session, appeal.id)
        if user.unit_id is not None:  # other units' reads of the appellant are not this unit's business
            colleagues = set(session.scalars(select(User.id).where(User.unit_id == user.unit_id)))
            events = [e for e in events if e.action != "appellant_viewed" or e.actor_id in colleagues]
        return {"appeal": appeal, "units": list(appeal.units), "appellant": view, "tasks": open_tasks,
                "history": events, "attachments": files}


def list_visible(session, user, status: str | None = None, before_id: int | None = None,
                 limit: int = 50) -> list[Appeal]:
    """Newest first, keyset-paged by id; organizer staff see their unit's appeals only."""
    query = select(Appeal)
    if can(user, "read_all_appeals"):
        condition = centres.appeal_condition(session, user)
        if condition is not None:
            query = query.where(condition)
    else:
        if user.role not in ORGANIZER_ROLES or user.unit_id is None:
            raise Forbidden("your role has no access to appeals")
        query = query.where(Appeal.id.in_(select(AppealUnit.appeal_id).where(
            AppealUnit.unit_id == user.unit_id, AppealUnit.active)))
    if status:
        query = query.where(Appeal.status == status)
    if before_id:
        query = query.where(Appeal.id < before_id)
    return list(session.scalars(query.order_by(Appeal.id.desc()).limit(limit)))
