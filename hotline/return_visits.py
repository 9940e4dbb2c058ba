"""Return visits (Art. 21, 23): the appellant's one-time evaluation link, random return visits
of closed appeals, and the checks supervisors order.

The link: when the verification starts, the appellant gets an SMS with a link valid for
`evaluation_wait_days` working days (processes/revisit.yaml); opening it shows the reply and an
evaluation form; submitting completes, as the appellant, the open task that reaches the
`appellant_evaluated` milestone, and marks the link used in that same transaction. No answer in
time counts as "no evaluation" (a timer in processes/revisit.bpmn). Only a SHA-256 of the token
is stored with the link.

Random return visits: a reproducible sample of closed appeals gets a phone call. An appeal is
drawn when random.Random(f"{seed}:{appeal number}").random() is below its rate: the same seed
draws the same appeals whatever order they are read in, so a sample can be re-checked. Rates
come from processes/revisit.yaml (unit over type over default). Supervisors may order an
on-site check or a face-to-face interview of any appeal.
"""
import hashlib
import os
import random
import secrets
from datetime import date, datetime, time, timedelta

import yaml
from sqlalchemy import select

from runtime import clock, history, tasks
from runtime.errors import Conflict, InvalidInput, NotFound
from workdays import store as calendar_store
from workdays.calendar import TZ

from . import appeals, attachments, centres, statuses, supervision
from .access import require
from .config import PROCESSES_DIR
from .models import Appeal, AppellantContact, EvaluationLink, OrganizerUnit, ReturnVisitSample

CONFIG = PROCESSES_DIR / "revisit.yaml"
EVALUATED = "appellant_evaluated"  # the milestone of the step the appellant's link completes


def settings() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8")) if CONFIG.is_file() else {}


# -- the appellant's evaluation link -------------------------------------------------------

def public_url(token: str) -> str:
    base = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    return f"{base}/e/{token}"


def create_link(session, appeal_id: int, calendar, now) -> tuple[str, EvaluationLink]:
    """A new one-time token (returned once, for the SMS) and its row."""
    token = secrets.token_urlsafe(24)
    due = calendar.add_working_days(now, int(settings().get("evaluation_wait_days", 3))).at
    link = EvaluationLink(appeal_id=appeal_id, token_hash=_digest(token), created_at=now, expires_at=due)
    session.add(link)
    return token, link


def send_evaluation_link(ctx, appeal_id):
    """Art. 21: the diagram's first step of a return visit; returns when the link expires."""
    token, link = create_link(ctx.session, ctx.appeal.id, ctx.calendar, ctx.now)
    ctx.notify_appellant(f"您的诉求 {ctx.appeal.number} 已办理答复，请在 "
                         f"{link.expires_at.astimezone(ctx.calendar.tz):%m月%d日} 前点击评价：{public_url(token)}")
    ctx.record("evaluation_link_sent", expires_at=link.expires_at.isoformat())
    return link.expires_at.isoformat()


def open_link(session, token: str) -> tuple[EvaluationLink, Appeal]:
    """Raises NotFound (unknown token), Conflict (reason link_used, link_expired, or, when the
    step it answers is no longer open, appeal_closed or evaluated_by_staff: a return visit by
    phone recorded the evaluation)."""
    link = session.scalar(select(EvaluationLink).where(EvaluationLink.token_hash == _digest(token)))
    if link is None:
        raise NotFound("this evaluation link does not exist")
    if link.used_at is not None:
        raise Conflict("this evaluation link has already been used", "link_used")
    if link.expires_at <= clock.now():
        raise Conflict("this evaluation link has expired", "link_expired")
    appeal = session.get(Appeal, link.appeal_id)
    if tasks.open_reaching(session, appeal.id, EVALUATED) is None:
        if appeal.closed_at is not None:
            raise Conflict("this appeal is closed, and its evaluation with it", "appeal_closed")
        raise Conflict("the evaluation was recorded in a return-visit call", "evaluated_by_staff")
    return link, appeal


def submit(db, token: str, evaluation: str, resolved: bool | None, comment: str) -> Appeal:
    """The appellant's evaluation: completes the step that reaches `appellant_evaluated` and
    marks the link used, in one transaction. Raises NotFound, Conflict, InvalidInput."""
    with db.read() as session:
        link, appeal = open_link(session, token)
    data = {"visit_method": "sms_link", "evaluation": evaluation}
    if resolved is not None:
        data["resolved"] = resolved
    if comment:
        data["comment"] = comment

    def use_link(session, _task):
        row = session.scalar(select(EvaluationLink).where(EvaluationLink.id == link.id).with_for_update())
        if row.used_at is not None:  # the same link submitted twice at once
            raise Conflict("this evaluation link has already been used", "link_used")
        row.used_at = clock.now()
        history.record(session, "evaluated_by_link", business_key=appeal.id, detail={"link_id": row.id})

    tasks.complete_reaching(db, appeal.id, EVALUATED, data, after=use_link)
    return appeal


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- random return visits and ordered checks ------------------------------------------------

METHODS = ("phone", "on_site", "interview")
EVALUATIONS = ("satisfied", "basically_satisfied", "dissatisfied", "no_evaluation")


def rate_for(rates: dict, appeal_type: str, unit_code: str | None) -> float:
    if unit_code and unit_code in (rates.get("by_unit") or {}):
        return float(rates["by_unit"][unit_code])
    return float((rates.get("by_type") or {}).get(appeal_type, rates.get("default", 0.0)))


def drawn(seed: str, number: str, rate: float) -> bool:
    return random.Random(f"{seed}:{number}").random() < rate


def draw_sample(db, start: date, end: date, seed: str, actor, rates: dict | None = None) -> list[int]:
    """Draw appeals closed from `start` to `end` (inclusive, Asia/Shanghai) whose process ended
    (not terminated), that were handled by a unit and not sampled yet. Returns the new samples' appeal ids. Raises Forbidden, InvalidInput."""
    require(actor, "order_checks")
    if end < start or not seed.strip():
        raise InvalidInput("bad sampling period", {"period": ["请填写正确的起止日期和抽样种子"]})
    rates = rates if rates is not None else (settings().get("sample_rates") or {})
    since = datetime.combine(start, time(0), TZ)
    until = datetime.combine(end + timedelta(days=1), time(0), TZ)
    with db.transaction() as session:
        already = set(session.scalars(select(ReturnVisitSample.appeal_id).where(ReturnVisitSample.drawn_by == "sample")))
        rows = session.execute(select(Appeal.id, Appeal.number, Appeal.appeal_type, OrganizerUnit.code)
                               .join(OrganizerUnit, OrganizerUnit.id == Appeal.lead_unit_id)
                               .where(Appeal.status != statuses.TERMINATED, Appeal.closed_at >= since, Appeal.closed_at < until)
                               .order_by(Appeal.id)).all()
        chosen = [appeal_id for appeal_id, number, appeal_type, unit_code in rows
                  if appeal_id not in already and drawn(seed, number, rate_for(rates, appeal_type, unit_code))]
        for appeal_id in chosen:
            session.add(ReturnVisitSample(appeal_id=appeal_id, method="phone", drawn_by="sample", seed=seed,
                                          ordered_by_id=actor.id))
            history.record(session, "return_visit_sampled", business_key=appeal_id, actor_id=actor.id,
                           detail={"seed": seed})
        return chosen


def order_check(db, appeal_id: int, method: str, note: str, actor) -> ReturnVisitSample:
    """A supervisor orders a phone check, an on-site check or a face-to-face interview."""
    require(actor, "order_checks")
    if method not in METHODS:
        raise InvalidInput("unknown method", {"method": ["请选择核查方式"]})
    with db.transaction() as session:
        if session.get(Appeal, appeal_id) is None:
            raise NotFound(f"appeal {appeal_id} does not exist")
        sample = ReturnVisitSample(appeal_id=appeal_id, method=method, drawn_by="supervisor", ordered_by_id=actor.id,
                                   comment=note[:2000] or None)
        session.add(sample)
        session.flush()
        history.record(session, "return_visit_ordered", business_key=appeal_id, actor_id=actor.id,
                       detail={"sample_id": sample.id, "method": method})
        return sample


def record_result(db, sample_id: int, evaluation: str, resolved: bool | None, comment: str,
                  attachment_ids: list[int], actor, upload: attachments.Upload | None = None,
                  problem_found: bool = False) -> ReturnVisitSample:
    """Record a check's result, with a file uploaded with it (stored in the same transaction, so a
    refused result leaves no file behind). A check that found a problem (Art. 23) sends the
    appeal back to its unit for rectification: a supervision item (reason return_visit_problem),
    which its own process follows up, and evaluation counts. Raises Forbidden, NotFound,
    Conflict (already recorded), InvalidInput."""
    require(actor, "return_visits")
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
        appeal = session.get(Appeal, sample.appeal_id)
        if problem_found and appeal.lead_unit_id is None:
            errors["problem_found"] = ["该诉求未派发承办单位，无法交办整改"]
        if problem_found and not comment:
            errors["comment"] = ["发现问题时请写明核查情况"]
        if errors:
            raise InvalidInput("return visit result is invalid", errors)
        if upload is not None:
            attachment_ids = [*attachment_ids, upload.store(session, sample.appeal_id, actor).id]
        sample.evaluation, sample.resolved, sample.comment = evaluation, resolved, comment or sample.comment
        sample.attachment_ids, sample.recorded_at, sample.recorded_by_id = attachment_ids, clock.now(), actor.id
        history.record(session, "return_visit_recorded", business_key=sample.appeal_id, actor_id=actor.id,
                       detail={"sample_id": sample.id, "method": sample.method, "evaluation": evaluation,
                               "resolved": resolved, "problem_found": problem_found})
        if problem_found:
            supervision.open_or_add(session, appeal, "return_visit_problem", "revisit", clock.now(),
                                    calendar_store.build(session), note=comment, actor_id=actor.id)
        return sample


def pending(session, user) -> list[tuple[ReturnVisitSample, Appeal, dict | None]]:
    """Checks still to do, each with the appellant as `user` may see them (return-visit staff
    are platform staff: they see the number they must call)."""
    rows = session.execute(select(ReturnVisitSample, Appeal, AppellantContact)
                           .join(Appeal, Appeal.id == ReturnVisitSample.appeal_id)
                           .outerjoin(AppellantContact, AppellantContact.appeal_id == Appeal.id)
                           .where(ReturnVisitSample.recorded_at.is_(None),
                                  *[c for c in [centres.appeal_condition(session, user)] if c is not None])
                           .order_by(ReturnVisitSample.created_at, ReturnVisitSample.id)).all()
    return [(s, a, appeals.appellant_view(c, a, user) if c else None) for s, a, c in rows]


def appeal_by_number(session, number: str) -> Appeal:
    """Raises NotFound."""
    appeal = session.scalar(select(Appeal).where(Appeal.number == number))
    if appeal is None:
        raise NotFound(f"appeal {number} does not exist")
    return appeal


def recent(session, limit: int = 50) -> list[tuple[ReturnVisitSample, Appeal]]:
    return list(session.execute(select(ReturnVisitSample, Appeal).join(Appeal, Appeal.id == ReturnVisitSample.appeal_id)
                                .where(ReturnVisitSample.recorded_at.is_not(None))
                                .order_by(ReturnVisitSample.recorded_at.desc()).limit(limit)).all())
