"""A unit's request to see the appellant's contact, and the platform's answer (DESIGN §2;
regulation Art. 29(3), 30(5); PIPL).

A unit sees the appellant masked (hotline.appeals.appellant_view) yet must reach them. Unit
staff whose unit works the appeal ask for access with a reason; at most one request per unit
and appeal waits at a time. A confidential appeal is never asked for: the appellant's own
request wins, as it does over a grant. A platform supervisor grants the request, which makes
the grant (hotline.privacy.add_grant) in the same transaction, or refuses it with a reason
the unit then reads. Requests and refusals are in history; a grant records itself.
"""
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from runtime import clock, history
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound

from . import appeals, privacy
from .access import ORGANIZER_ROLES, can, require
from .models import Appeal, ContactGrant, ContactRequest, OrganizerUnit, User

MAX_REASON = privacy.MAX_REASON


def request_access(db, appeal_id: int, reason: str, user) -> ContactRequest:
    """Ask the platform to let the user's unit see the appellant's name and full phone.

    Raises NotFound (no such appeal), Forbidden (not unit staff, or the appeal is not the
    unit's), Conflict (reason `confidential`, `closed`, `already_granted`, `already_requested`),
    InvalidInput (no reason, or too long).
    """
    if user.role not in ORGANIZER_ROLES or user.unit_id is None:
        raise Forbidden("only the staff of a unit working the appeal may ask for contact access")
    with db.transaction() as session:
        appeal = appeals.get_visible(session, appeal_id, user)
        # one row per appeal locked: two requests at once are answered one after the other
        session.scalar(select(Appeal.id).where(Appeal.id == appeal.id).with_for_update())
        if not privacy.unit_works_on(session, appeal.id, user.unit_id):
            raise Forbidden("your unit does not work this appeal")
        if appeal.confidential:
            raise Conflict("the appellant asked to keep their identity confidential; no unit may see it",
                           "confidential")
        if appeal.closed_at is not None:
            raise Conflict("the appeal is closed", "closed")
        if privacy.active_grant(session, appeal.id, user.unit_id) is not None:
            raise Conflict("your unit already has contact access", "already_granted")
        if _pending_of(session, appeal.id, user.unit_id) is not None:
            raise Conflict("your unit's request is waiting for the platform", "already_requested")
        reason = _reason(reason, "请填写申请理由", "申请理由")
        request = ContactRequest(appeal_id=appeal.id, unit_id=user.unit_id, reason=reason, requested_by_id=user.id,
                                 requested_at=clock.now(), state="pending")
        session.add(request)
        session.flush()
        history.record(session, "contact_requested", business_key=appeal.id, actor_id=user.id,
                       detail={"request_id": request.id, "unit_id": user.unit_id, "reason": reason})
        return request


def grant(db, request_id: int, supervisor) -> ContactGrant:
    """Grant the request: the unit sees the appellant's contact from now on, for the reason it gave.

    Raises Forbidden (not a supervisor), NotFound (no such request), Conflict (reason
    `decided`; `not_working`: the unit no longer works the appeal; `confidential`,
    `already_granted` from hotline.privacy.add_grant).
    """
    require(supervisor, "grant_contact")
    with db.transaction() as session:
        request = _open(session, request_id)
        appeal = appeals.get(session, request.appeal_id)
        if not privacy.unit_works_on(session, appeal.id, request.unit_id):
            raise Conflict("the unit no longer works this appeal; refuse the request instead", "not_working")
        return privacy.add_grant(session, appeal, request.unit_id, request.reason, supervisor, request_id=request.id)


def refuse(db, request_id: int, reason: str, supervisor) -> ContactRequest:
    """Refuse the request; the unit sees the refusal and its reason, and may ask again.

    Raises Forbidden (not a supervisor), NotFound (no such request), Conflict (`decided`),
    InvalidInput (no reason, or too long).
    """
    require(supervisor, "grant_contact")
    with db.transaction() as session:
        request = _open(session, request_id)
        request.refusal_reason = _reason(reason, "请填写不予授权的理由", "理由")
        request.state, request.decided_by_id, request.decided_at = "refused", supervisor.id, clock.now()
        history.record(session, "contact_request_refused", business_key=request.appeal_id, actor_id=supervisor.id,
                       detail={"request_id": request.id, "unit_id": request.unit_id, "reason": request.refusal_reason})
        return request


def latest(session, appeal_id: int, unit_id: int) -> dict | None:
    """The unit's newest request on the appeal, with who decided it, or None."""
    row = session.execute(_listing().where(ContactRequest.appeal_id == appeal_id, ContactRequest.unit_id == unit_id)
                          .order_by(ContactRequest.id.desc()).limit(1)).first()
    return _row(row) if row else None


def for_page(session, appeal: Appeal, user) -> dict:
    """What the appellant card of the task and appeal pages shows about requests: to unit staff
    their unit's newest request and whether they may ask now (a unit with access is shown the
    contact instead); to supervisors the requests waiting on this appeal."""
    mine = latest(session, appeal.id, user.unit_id) if user.unit_id is not None else None
    asks = (user.role in ORGANIZER_ROLES and user.unit_id is not None and not appeal.confidential
            and appeal.closed_at is None and not (mine and mine["request"].state == "pending"))
    waiting = list_pending(session, appeal.id) if can(user, "grant_contact") else []
    return {"contact_request": mine, "may_request_contact": asks, "contact_requests": waiting}


def list_pending(session, appeal_id: int | None = None, limit: int = 200) -> list[dict]:
    """Requests waiting for the platform, oldest first (of one appeal, or all)."""
    query = _listing().where(ContactRequest.state == "pending")
    if appeal_id is not None:
        query = query.where(ContactRequest.appeal_id == appeal_id)
    return [_row(r) for r in session.execute(query.order_by(ContactRequest.requested_at, ContactRequest.id)
                                             .limit(limit))]


def count_pending(session) -> int:
    return session.scalar(select(func.count()).select_from(ContactRequest).where(ContactRequest.state == "pending"))


def _listing():
    requester, decider = aliased(User), aliased(User)
    return (select(ContactRequest, Appeal.number, Appeal.title, OrganizerUnit.name, requester.display_name,
                   decider.display_name, ContactGrant.revoked_at)
            .join(Appeal, Appeal.id == ContactRequest.appeal_id)
            .join(OrganizerUnit, OrganizerUnit.id == ContactRequest.unit_id)
            .join(requester, requester.id == ContactRequest.requested_by_id)
            .outerjoin(decider, decider.id == ContactRequest.decided_by_id)
            .outerjoin(ContactGrant, ContactGrant.id == ContactRequest.grant_id))


def _row(row) -> dict:
    request, number, title, unit, requested_by, decided_by, revoked_at = row
    return {"request": request, "appeal_number": number, "appeal_title": title, "unit_name": unit,
            "requested_by": requested_by, "decided_by": decided_by, "revoked_at": revoked_at}


def _pending_of(session, appeal_id: int, unit_id: int) -> int | None:
    return session.scalar(select(ContactRequest.id).where(
        ContactRequest.appeal_id == appeal_id, ContactRequest.unit_id == unit_id, ContactRequest.state == "pending"))


def _open(session, request_id: int) -> ContactRequest:
    request = session.scalar(select(ContactRequest).where(ContactRequest.id == request_id).with_for_update())
    if request is None:
        raise NotFound(f"contact request {request_id} does not exist")
    if request.state != "pending":
        raise Conflict(f"this request was already {request.state}", "decided")
    return request


def _reason(text: str | None, missing: str, label: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a reason is required", {"reason": [missing]})
    if len(text) > MAX_REASON:
        raise InvalidInput("the reason is too long", {"reason": [f"{label}不能超过 {MAX_REASON} 个字"]})
    return text
