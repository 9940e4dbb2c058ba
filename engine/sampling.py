"""Random return visits (Art. 23): a reproducible sample of closed appeals gets a phone call,
and supervisors may order an on-site check or a face-to-face interview of any appeal.

An appeal is drawn when random.Random(f"{seed}:{appeal number}").random() is below its rate:
the same seed draws the same appeals whatever order they are read in, so a sample can be
re-checked. Rates come from processes/revisit.yaml (unit over type over default).
"""
import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from . import appeals, attachments, clock, history
from .calendar import TZ
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .models import Appeal, AppellantContact, OrganizerUnit, ReturnVisitSample
from .return_visits import settings

METHODS = ("phone", "on_site", "interview")
EVALUATIONS = ("satisfied", "basically_satisfied", "dissatisfied", "no_evaluation")
ORDERING_ROLES = ("supervisor", "admin")
RECORDING_ROLES = ("return_visit_staff", "supervisor", "admin")


def rate_for(rates: dict, appeal_type: str, unit_code: str | None) -> float:
    if unit_code and unit_code in (rates.get("by_unit") or {}):
        return float(rates["by_unit"][unit_code])
    return float((rates.get("by_type") or {}).get(appeal_type, rates.get("default", 0.0)))


def drawn(seed: str, number: str, rate: float) -> bool:
    return random.Random(f"{seed}:{number}").random() < rate


def draw_sample(db, start: date, end: date, seed: str, actor, rates: dict | None = None) -> list[int]:
    """Draw appeals archived from `start` to `end` (inclusive, Asia/Shanghai) that were handled by a
    unit and not sampled yet. Returns the new samples' appeal ids. Raises Forbidden, InvalidInput."""
    _require(actor, ORDERING_ROLES)
    if end < start or not seed.strip():
        raise InvalidInput("bad sampling period", {"period": ["请填写正确的起止日期和抽样种子"]})
    rates = rates if rates is not None else (settings().get("sample_rates") or {})
    since = datetime.combine(start, time(0), TZ)
    until = datetime.combine(end + timedelta(days=1), time(0), TZ)
    with db.transaction() as session:
        already = set(session.scalars(select(ReturnVisitSample.appeal_id).where(ReturnVisitSample.drawn_by == "sample")))
        rows = session.execute(select(Appeal.id, Appeal.number, Appeal.appeal_type, OrganizerUnit.code)
                               .join(OrganizerUnit, OrganizerUnit.id == Appeal.lead_unit_id)
                               .where(Appeal.status == "archived", Appeal.closed_at >= since, Appeal.closed_at < until)
                               .order_by(Appeal.id)).all()
        chosen = [appeal_id for appeal_id, number, appeal_type, unit_code in rows
                  if appeal_id not in already and drawn(seed, number, rate_for(rates, appeal_type, unit_code))]
        for appeal_id in chosen:
            session.add(ReturnVisitSample(appeal_id=appeal_id, method="phone", drawn_by="sample", seed=seed,
                                          ordered_by_id=actor.id))
            history.record(session, "return_visit_sampled", appeal_id=appeal_id, actor_id=actor.id,
                           detail={"seed": seed})
        return chosen


def order_check(db, appeal_id: int, method: str, note: str, actor) -> ReturnVisitSample:
    """A supervisor orders a phone check, an on-site check or a face-to-face interview."""
    _require(actor, ORDERING_ROLES)
    if method not in METHODS:
        raise InvalidInput("unknown method", {"method": ["请选择核查方式"]})
    with db.transaction() as session:
        if session.get(Appeal, appeal_id) is None:
            raise NotFound(f"appeal {appeal_id} does not exist")
        sample = ReturnVisitSample(appeal_id=appeal_id, method=method, drawn_by="supervisor", ordered_by_id=actor.id,
                                   comment=note[:2000] or None)
        session.add(sample)
        session.flush()
        history.record(session, "return_visit_ordered", appeal_id=appeal_id, actor_id=actor.id,
                       detail={"sample_id": sample.id, "method": method})
        return sample


def record_result(db, sample_id: int, evaluation: str, resolved: bool | None, comment: str,
                  attachment_ids: list[int], actor) -> ReturnVisitSample:
    """Raises Forbidden, NotFound, Conflict (already recorded), InvalidInput."""
    _require(actor, RECORDING_ROLES)
    errors = {}
    if evaluation not in EVALUATIONS:
        errors["evaluation"] = ["请选择诉求人评价"]
    if len(comment) > 2000:
        errors["comment"] = ["不超过 2000 字"]
    with db.transaction() as session:
        sample = session.scalar(select(ReturnVisitSample).where(ReturnVisitSample.id == sample_id).with_for_update())
        if sample is None:
            raise NotFound(f"return visit {sample_id} does not exist")
        if sample.recorded_at is not None:
            raise Conflict("this return visit has already been recorded")
        if not attachments.all_belong(session, sample.appeal_id, attachment_ids):
            errors["attachment_ids"] = ["附件不存在或不属于本诉求"]
        if errors:
            raise InvalidInput("return visit result is invalid", errors)
        sample.evaluation, sample.resolved, sample.comment = evaluation, resolved, comment or sample.comment
        sample.attachment_ids, sample.recorded_at, sample.recorded_by_id = attachment_ids, clock.now(), actor.id
        history.record(session, "return_visit_recorded", appeal_id=sample.appeal_id, actor_id=actor.id,
                       detail={"sample_id": sample.id, "method": sample.method, "evaluation": evaluation,
                               "resolved": resolved})
        return sample


def pending(session, user) -> list[tuple[ReturnVisitSample, Appeal, dict | None]]:
    """Checks still to do, each with the appellant as `user` may see them (return-visit staff
    are platform staff: they see the number they must call)."""
    rows = session.execute(select(ReturnVisitSample, Appeal, AppellantContact)
                           .join(Appeal, Appeal.id == ReturnVisitSample.appeal_id)
                           .outerjoin(AppellantContact, AppellantContact.appeal_id == Appeal.id)
                           .where(ReturnVisitSample.recorded_at.is_(None))
                           .order_by(ReturnVisitSample.created_at, ReturnVisitSample.id)).all()
    return [(s, a, appeals.appellant_view(c, a, user) if c else None) for s, a, c in rows]


def appeal_by_number(session, number: str) -> Appeal:
    """Raises NotFound."""
    appeal = session.scalar(select(Appeal).where(Appeal.number == number))
    if appeal is None:
        raise NotFound(f"appeal {number} does not exist")
    return appeal


def appeal_id_of(session, sample_id: int) -> int:
    """Raises NotFound."""
    sample = session.get(ReturnVisitSample, sample_id)
    if sample is None:
        raise NotFound(f"return visit {sample_id} does not exist")
    return sample.appeal_id


def recent(session, limit: int = 50) -> list[tuple[ReturnVisitSample, Appeal]]:
    return list(session.execute(select(ReturnVisitSample, Appeal).join(Appeal, Appeal.id == ReturnVisitSample.appeal_id)
                                .where(ReturnVisitSample.recorded_at.is_not(None))
                                .order_by(ReturnVisitSample.recorded_at.desc()).limit(limit)).all())


def _require(actor, roles):
    if actor.role not in roles:
        raise Forbidden("not allowed for your role")
