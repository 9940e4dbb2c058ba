"""What organizer units may see of the appellant beyond the default, and the audit of it
(DESIGN §2; regulation Art. 29(3), 30(5); PIPL).

By default a unit sees a masked phone and no name (hotline.appeals.appellant_view). A
supervisor may grant one unit contact access for one appeal, with a reason, and revoke it;
the grant shows that unit the name and full phone. A unit may ask for it with a reason
(hotline.contact_requests); granting the request makes the grant here. A grant never overrides "keep
confidential": the appellant's own request wins, so granting on such an appeal is refused.
Every grant, revocation and read of the appellant by unit staff is in history; `audit` lists
them for the appeal's audit tab. After the retention period the appellant of a closed appeal is
anonymised (`anonymise_expired`, run by the worker).
"""
from datetime import timedelta

from sqlalchemy import select, update

from runtime import clock, history
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound
from runtime.models import HistoryEvent, Notification

from . import appeals
from .access import PLATFORM_ROLES, can
from .models import Appeal, AppealUnit, AppellantContact, ContactGrant, ContactRequest, OrganizerUnit, User

AUDIT_ACTIONS = ("appellant_viewed", "contact_granted", "contact_revoked", "appellant_anonymised")
ANONYMISED = "已匿名"  # what stands where a phone number was (the column cannot be empty)
MAX_REASON = 500


def grant_contact(db, appeal_id: int, unit_id: int, reason: str, supervisor) -> ContactGrant:
    """Let `unit_id` see the appellant's name and phone on this appeal.

    Raises Forbidden (not a supervisor), NotFound (no such appeal), InvalidInput (no reason,
    or the unit does not work this appeal), Conflict (the appeal is confidential, or the unit
    already has access).
    """
    _check_supervisor(supervisor)
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = ["请填写授权理由"]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [f"授权理由不能超过 {MAX_REASON} 个字"]
    with db.transaction() as session:
        appeal = appeals.get(session, appeal_id)
        if not unit_works_on(session, appeal_id, unit_id):
            errors["unit_id"] = ["该单位未承办此诉求"]
        if errors:
            raise InvalidInput("the grant cannot be made", errors)
        return add_grant(session, appeal, unit_id, reason, supervisor)


def add_grant(session, appeal: Appeal, unit_id: int, reason: str, supervisor, request_id: int | None = None
              ) -> ContactGrant:
    """The grant itself, in the caller's transaction (grant_contact, or a unit's request granted in
    hotline.contact_requests). It answers the unit's pending request on the appeal, if any, so a
    direct grant leaves no request waiting. The caller has checked the supervisor, the reason
    and that the unit works the appeal.

    Raises Conflict (the appeal is confidential, or the unit already has access).
    """
    if appeal.confidential:
        raise Conflict("the appellant asked to keep their identity confidential; no unit may see it", "confidential")
    if active_grant(session, appeal.id, unit_id) is not None:
        raise Conflict("this unit already has contact access", "already_granted")
    now = clock.now()
    grant = ContactGrant(appeal_id=appeal.id, unit_id=unit_id, reason=reason, granted_by_id=supervisor.id,
                         granted_at=now)
    session.add(grant)
    session.flush()
    session.execute(update(ContactRequest).where(
        ContactRequest.appeal_id == appeal.id, ContactRequest.unit_id == unit_id, ContactRequest.state == "pending")
        .values(state="granted", decided_by_id=supervisor.id, decided_at=now, grant_id=grant.id))
    detail = {"grant_id": grant.id, "unit_id": unit_id, "reason": reason}
    history.record(session, "contact_granted", business_key=appeal.id, actor_id=supervisor.id,
                   detail={**detail, "request_id": request_id} if request_id else detail)
    return grant


def unit_works_on(session, appeal_id: int, unit_id: int | None) -> bool:
    """The unit is (still) dispatched this appeal, as lead or co-organizer."""
    return unit_id is not None and session.scalar(select(AppealUnit.id).where(
        AppealUnit.appeal_id == appeal_id, AppealUnit.unit_id == unit_id, AppealUnit.active).limit(1)) is not None


def revoke_contact(db, appeal_id: int, unit_id: int, supervisor) -> ContactGrant:
    """End the unit's contact access; from now on it sees the masked view again.

    Raises Forbidden (not a supervisor), NotFound (no active grant for that unit).
    """
    _check_supervisor(supervisor)
    with db.transaction() as session:
        grant = session.scalar(select(ContactGrant).where(
            ContactGrant.appeal_id == appeal_id, ContactGrant.unit_id == unit_id,
            ContactGrant.revoked_at.is_(None)).with_for_update())
        if grant is None:
            raise NotFound("this unit has no contact access to revoke")
        grant.revoked_at = clock.now()
        history.record(session, "contact_revoked", business_key=appeal_id, actor_id=supervisor.id,
                       detail={"grant_id": grant.id, "unit_id": unit_id})
        return grant


def active_grant(session, appeal_id: int, unit_id: int) -> ContactGrant | None:
    return session.scalar(select(ContactGrant).where(
        ContactGrant.appeal_id == appeal_id, ContactGrant.unit_id == unit_id, ContactGrant.revoked_at.is_(None))
        .limit(1))


def grants(session, appeal_id: int) -> list[dict]:
    """Every grant of the appeal, newest first, with the unit's and the supervisor's names."""
    rows = session.execute(select(ContactGrant, OrganizerUnit.name, User.display_name)
                           .join(OrganizerUnit, OrganizerUnit.id == ContactGrant.unit_id)
                           .join(User, User.id == ContactGrant.granted_by_id)
                           .where(ContactGrant.appeal_id == appeal_id)
                           .order_by(ContactGrant.granted_at.desc(), ContactGrant.id.desc()))
    return [{"grant": g, "unit_name": unit, "granted_by": by} for g, unit, by in rows]


def audit(session, appeal_id: int, user) -> list[dict]:
    """Reads of the appellant by unit staff, and grants and revocations, oldest first. Platform
    staff see all of them; unit staff see only their own unit's reads and the grants to it.

    Raises NotFound, Forbidden (the appeal is not visible to the user).
    """
    appeals.get_visible(session, appeal_id, user)
    rows = session.execute(select(HistoryEvent, User.display_name, User.unit_id, OrganizerUnit.name)
                           .outerjoin(User, User.id == HistoryEvent.actor_id)
                           .outerjoin(OrganizerUnit, OrganizerUnit.id == User.unit_id)
                           .where(HistoryEvent.business_key == appeal_id, HistoryEvent.action.in_(AUDIT_ACTIONS))
                           .order_by(HistoryEvent.at, HistoryEvent.id))
    platform = user.role in PLATFORM_ROLES
    result = []
    for event, actor, actor_unit, unit_name in rows:
        concerns = actor_unit if event.action == "appellant_viewed" else (event.detail or {}).get("unit_id")
        if platform or concerns == user.unit_id:
            result.append({"event": event, "actor": actor, "unit_name": unit_name})
    return result


def _check_supervisor(user) -> None:
    if not can(user, "grant_contact"):
        raise Forbidden("only a platform supervisor may grant or revoke contact access")


def anonymise_expired(db, retention_days: int, now=None, batch: int = 200) -> int:
    """PIPL Art. 19, 47: personal data is kept no longer than needed. The appellants of appeals
    closed more than `retention_days` ago lose their name, phone and ID number (the contact
    row, and the phone the outbox addressed), each recorded in history; the appeal itself and
    its handling stay for evaluation. One batch per transaction; returns how many were done."""
    now = now or clock.now()
    cutoff = now - timedelta(days=retention_days)
    done = 0
    while True:
        with db.transaction() as session:
            rows = session.execute(select(AppellantContact, Appeal.id).join(Appeal, Appeal.id == AppellantContact.appeal_id)
                                   .where(Appeal.closed_at < cutoff, AppellantContact.anonymized_at.is_(None))
                                   .order_by(Appeal.id).limit(batch).with_for_update(of=AppellantContact)).all()
            for contact, appeal_id in rows:
                session.execute(update(Notification).where(Notification.business_key == appeal_id,
                                                           Notification.recipient == contact.phone)
                                .values(recipient=ANONYMISED))
                contact.name, contact.phone, contact.id_number = None, ANONYMISED, None
                contact.anonymized_at = now
                history.record(session, "appellant_anonymised", business_key=appeal_id,
                               detail={"retention_days": retention_days})
            done += len(rows)
        if len(rows) < batch:
            return done
