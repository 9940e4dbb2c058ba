"""Appeals: intake, numbering, the status table, and what units may see of the appellant."""
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import calendar, forms, history, instances
from .db import utcnow
from .errors import InvalidInput, NotFound, ProcessError
from .models import Appeal, AppealCounter, AppellantContact, Region

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


def register(db, data: dict, actor) -> Appeal:
    """Accept an appeal and start its process in one transaction.

    Raises InvalidInput (bad data or unknown region), NotFound (nothing deployed).
    """
    forms.validate(INTAKE_FORM, data)
    with db.transaction() as session:
        region_id = None
        if data.get("region_code"):
            region_id = session.scalar(select(Region.id).where(Region.code == data["region_code"]))
            if region_id is None:
                raise InvalidInput("unknown region", {"region_code": ["行政区划代码不存在"]})
        now = utcnow()
        appeal = Appeal(
            number=next_number(session, now), appeal_type=data["appeal_type"], channel=data["channel"],
            status="registered", title=data["title"], content=data["content"], location=data.get("location"),
            region_id=region_id, urgent=data.get("urgent", False),
            convenience_list=data.get("convenience_list", False), confidential=data.get("confidential", False),
            accepted_at=now, created_by_id=getattr(actor, "id", None))
        session.add(appeal)
        session.flush()
        person = data["appellant"]
        session.add(AppellantContact(appeal_id=appeal.id, kind=person["kind"], name=person.get("name"),
                                     phone=person["phone"], id_number=person.get("id_number"),
                                     agrees_to_disclose=person.get("agrees_to_disclose", False)))
        history.record(session, "appeal_registered", appeal_id=appeal.id, actor_id=getattr(actor, "id", None),
                       detail={"number": appeal.number, "channel": appeal.channel, "type": appeal.appeal_type})
        instances.start(session, appeal, actor, {
            "appeal_id": appeal.id, "appeal_type": appeal.appeal_type, "urgent": appeal.urgent,
            "convenience_list": appeal.convenience_list, "confidential": appeal.confidential,
            "lead_unit_id": None, "co_unit_ids": [], "rehandle_count": 0})
        return appeal


def get(session, appeal_id: int) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} does not exist")
    return appeal


def mask_phone(phone: str) -> str:
    """138****1234: organizer units see no full number unless granted (DESIGN §2)."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def appellant_view(contact: AppellantContact, appeal: Appeal, user) -> dict:
    """What `user` may see of the appellant. Platform staff see everything; organizer units see
    a masked phone, and a name only with the appellant's consent; nothing if confidential."""
    if user.unit_id is None:
        return {"kind": contact.kind, "name": contact.name, "phone": contact.phone, "masked": False}
    if appeal.confidential:
        return {"kind": contact.kind, "name": None, "phone": None, "masked": True}
    name = contact.name if contact.agrees_to_disclose else None
    return {"kind": contact.kind, "name": name, "phone": mask_phone(contact.phone), "masked": True}
