"""Operations: incidents (failed timer jobs) and the working-day calendar's alerts and data."""
from flask import g, request
from marshmallow import Schema, fields, validate

from hotline import calendar_changes
from hotline.access import require
from runtime import jobs
from workdays import store as calendar_store

from .. import get_db
from . import bp
from .auth import json_body, login_required
from .paging import Cursor, Keyset, PageQuery, next_cursor_field, row_id, time
from .schemas import LocalDateTime, Strict

INCIDENTS = Keyset("incidents", time, row_id)  # due time, id


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    name = fields.String(allow_none=True)
    due_at = LocalDateTime()
    last_error = fields.String(allow_none=True)


class IncidentPageSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))
    next_cursor = next_cursor_field()


class IncidentListQuery(PageQuery):
    cursor = Cursor(INCIDENTS)


class CalendarDaySchema(Strict):
    day = fields.Date(required=True)
    working = fields.Boolean(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 100),
                         metadata={"description": "why the day is set so, e.g. 台风停工 (kept in history)"})


class CalendarYearSchema(Strict):
    schedule = fields.String(required=True, validate=validate.Length(1, 100_000),
                             metadata={"description": "the year file's YAML text (processes/calendar/README.md)"})


@bp.get("/incidents")
@login_required
def list_incidents():
    """Oldest due first (web.api.paging)."""
    require(g.user, "operate_instances")
    query = IncidentListQuery().load(request.args)
    with get_db().read() as session:
        found = jobs.list_incidents(session, query.get("cursor"), query["limit"] + 1)
    items, next_cursor = INCIDENTS.page(found, query["limit"], lambda job: (job.due_at, job.id))
    return IncidentPageSchema().dump({"items": items, "next_cursor": next_cursor})


@bp.post("/incidents/<int:job_id>/retry")
@login_required
def retry_incident(job_id):
    require(g.user, "operate_instances")
    return IncidentSchema().dump(jobs.retry_incident(get_db(), job_id, g.user))


@bp.get("/calendar/alerts")
@login_required
def calendar_alerts():
    require(g.user, "read_calendar")
    with get_db().read() as session:
        return {"items": calendar_changes.alerts(session, calendar_store.build(session))}


@bp.post("/calendar/days")
@login_required
def override_day():
    require(g.user, "administer")
    data = json_body(CalendarDaySchema())
    moved = calendar_changes.override_day(get_db(), data["day"], data["working"], data["name"], g.user)
    return {"day": data["day"].isoformat(), "working": data["working"], "recomputed_appeals": moved}


@bp.post("/calendar/years")
@login_required
def load_year():
    require(g.user, "administer")
    data = json_body(CalendarYearSchema())
    return calendar_changes.load_year(get_db(), data["schedule"], g.user), 201
