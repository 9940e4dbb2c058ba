"""Return visits (Art. 21, 23): the appellant's one-time evaluation link.

When the verification starts, the appellant gets an SMS with a link valid for
`evaluation_wait_days` working days (processes/revisit.yaml); opening it shows the reply and
an evaluation form; submitting completes the return-visit task as the appellant. No answer
in time counts as "no evaluation" (a timer in processes/revisit.bpmn). Only a SHA-256 of
the token is stored with the link.
"""
import hashlib
import os
import secrets
from pathlib import Path

import yaml
from sqlalchemy import select

from . import clock, history, tasks
from .errors import Conflict, NotFound
from .models import Appeal, EvaluationLink
from .services import operator

CONFIG = Path(__file__).resolve().parent.parent / "processes" / "revisit.yaml"
TASK = "ut_return_visit"


def settings() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8")) if CONFIG.is_file() else {}


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


@operator
def send_evaluation_link(ctx, appeal_id):
    """Art. 21: the diagram's first step of a return visit; returns when the link expires."""
    token, link = create_link(ctx.session, ctx.appeal.id, ctx.calendar, ctx.now)
    ctx.notify_appellant(f"您的诉求 {ctx.appeal.number} 已办理答复，请在 "
                         f"{link.expires_at.astimezone(ctx.calendar.tz):%m月%d日} 前点击评价：{public_url(token)}")
    ctx.record("evaluation_link_sent", expires_at=link.expires_at.isoformat())
    return link.expires_at.isoformat()


def open_link(session, token: str) -> tuple[EvaluationLink, Appeal]:
    """Raises NotFound (unknown token), Conflict (already used or expired)."""
    link = session.scalar(select(EvaluationLink).where(EvaluationLink.token_hash == _digest(token)))
    if link is None:
        raise NotFound("this evaluation link does not exist")
    if link.used_at is not None:
        raise Conflict("this evaluation link has already been used")
    if link.expires_at <= clock.now():
        raise Conflict("this evaluation link has expired")
    return link, session.get(Appeal, link.appeal_id)


def submit(db, token: str, evaluation: str, resolved: bool | None, comment: str) -> Appeal:
    """The appellant's evaluation. Raises NotFound, Conflict, InvalidInput."""
    with db.read() as session:
        _link, appeal = open_link(session, token)
    data = {"visit_method": "sms_link", "evaluation": evaluation}
    if resolved is not None:
        data["resolved"] = resolved
    if comment:
        data["comment"] = comment
    tasks.complete_for_appellant(db, appeal.id, TASK, data)
    with db.transaction() as session:
        link, appeal = session.scalar(select(EvaluationLink).where(EvaluationLink.token_hash == _digest(token))), \
            session.get(Appeal, appeal.id)
        link.used_at = clock.now()
        history.record(session, "evaluated_by_link", appeal_id=appeal.id, detail={"link_id": link.id})
        return appeal


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
