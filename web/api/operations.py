"""Operations: incidents (failed timer jobs) and the working-day calendar's alerts and data."""
from datetime import date

from flask import g
from marshmallow import Schema, fields, validate

from engine import calendar_store, jobs, recompute
from engine.errors import Forbidden

from .. import get_db
from . import bp
from .auth import json_body, login_required
from .schemas import LocalDateTime, Strict

OPERATORS = ("process_owner", "admin")


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    name = fields.String(allow_none=True)
    due_at = LocalDateTime()
    last_error = fields.String(allow_none=True)


class CalendarDaySchema(Strict):
    day = fields.Date(required=True)
    working = fields.Boolean(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))


class CalendarYearSchema(Strict):
    schedule = fields.String(required=True, validate=validate.Length(1, 100_000),
                             metadata={"description": "the year file's YAML text (processes/calendar/README.md)"})


def _require(*roles):
    if g.user.role not in roles:
        raise Forbidden("not allowed for your role")


@bp.get("/incidents")
@login_required
def list_incidents():
    _require(*OPERATORS)
    with get_db().read() as session:
        return {"items": IncidentSchema(many=True).dump(jobs.list_incidents(session))}


@bp.post("/incidents/<int:job_id>/retry")
@login_required
def retry_incident(job_id):
    _require(*OPERATORS)
    return IncidentSchema().dump(jobs.retry_incident(get_db(), job_id, g.user))


@bp.get("/calendar/alerts")
@login_required
def calendar_alerts():
    _require("admin", "process_owner", "supervisor")
    with get_db().read() as session:
        return {"items": calendar_store.alerts(session, calendar_store.build(session))}


@bp.post("/calendar/days")
@login_required
def override_day():
    _require("admin")
    data = json_body(CalendarDaySchema())
    db = get_db()
    with db.transaction() as session:
        calendar_store.set_day(session, data["day"], data["working"], data["name"], g.user.username)
    moved = recompute.recompute_all(db, data["day"], g.user)
    return {"day": data["day"].isoformat(), "working": data["working"], "recomputed_appeals": moved}


@bp.post("/calendar/years")
@login_required
def load_year():
    _require("admin")
    data = json_body(CalendarYearSchema())
    db = get_db()
    with db.transaction() as session:
        summary = calendar_store.load_year(session, data["schedule"], g.user.username)
    summary["recomputed_appeals"] = recompute.recompute_all(db, date(summary["year"], 1, 1), g.user)
    return summary, 201
