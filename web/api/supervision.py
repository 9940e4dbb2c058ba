"""The supervision register (Art. 22, 24): list and read items (a unit sees only its own),
with their escalation (the level reached and each level's date, Art. 24), the unit leader's
response and the supervisor's closing."""
from datetime import datetime

from flask import g, request
from marshmallow import Schema, fields, validate

from hotline import escalation, supervision
from workdays.calendar import TZ

from .. import get_db
from . import bp
from .auth import json_body, login_required
from .paging import Cursor, Keyset, next_cursor_field, row_id
from .schemas import BeforeIdQuery, LocalDateTime, Strict

ITEMS = Keyset("supervision-items", row_id)  # newest first


class IsoLocalTime(fields.String):
    """A time kept as ISO text (the item's escalations), leaving the API in +08:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        return datetime.fromisoformat(value).astimezone(TZ).isoformat() if value else None


class EscalationSchema(Schema):
    level = fields.String(metadata={"enum": list(escalation.limits())})
    issued_at = IsoLocalTime()
    due_at = IsoLocalTime(metadata={"description": "the date the unit must answer by at this level"})


class SupervisionItemSchema(Schema):
    id = fields.Integer()
    appeal_id = fields.Integer()
    unit_id = fields.Integer(allow_none=True)
    reason = fields.String(metadata={"enum": list(supervision.REASONS), "description": "the reason it was opened for"})
    reasons = fields.List(fields.String(), attribute="reason_list",
                          metadata={"description": "every reason, the opening one first (one item per appeal)"})
    source = fields.String(metadata={"description": "auto | manual"})
    note = fields.String(allow_none=True)
    measures = fields.List(fields.String(), allow_none=True)
    rectification_days = fields.Integer(allow_none=True)
    rectification_due_at = LocalDateTime(allow_none=True)
    status = fields.String(metadata={"enum": list(supervision.STATUSES)})
    escalation_level = fields.String(allow_none=True, metadata={
        "enum": list(escalation.limits()), "description": "the last escalation level issued (Art. 24), null: none"})
    escalations = fields.List(fields.Nested(EscalationSchema), metadata={"description": "every level issued"})
    current_due_at = LocalDateTime(allow_none=True, metadata={
        "description": "the date the unit must answer by now: the last level's, else the rectification deadline"})
    opened_at = LocalDateTime()
    unit_response = fields.String(allow_none=True)
    responded_at = LocalDateTime(allow_none=True)
    closing_note = fields.String(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)


class SupervisionRowSchema(Schema):
    item = fields.Nested(SupervisionItemSchema)
    number = fields.String(metadata={"description": "the appeal's number"})
    title = fields.String()
    unit_name = fields.String(allow_none=True)


class SupervisionPageSchema(Schema):
    items = fields.List(fields.Nested(SupervisionRowSchema))
    next_cursor = next_cursor_field()
    next_before_id = fields.Integer(allow_none=True, metadata={
        "description": "deprecated (use next_cursor): the before_id of the next page; null on the last"})


class SupervisionListQuery(BeforeIdQuery):
    status = fields.String(validate=validate.OneOf(supervision.STATUSES))
    reason = fields.String(validate=validate.OneOf(supervision.REASONS))
    escalation = fields.String(validate=validate.OneOf(list(escalation.limits())),
                               metadata={"description": "the last level issued"})
    unit_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    overdue = fields.Boolean(load_default=False, metadata={"description": "open past the rectification deadline"})
    cursor = Cursor(ITEMS)


class RespondSchema(Strict):
    response = fields.String(required=True, validate=validate.Length(1, supervision.MAX_TEXT))
    attachment_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), load_default=list,
                                 validate=validate.Length(max=50))


class CloseSchema(Strict):
    note = fields.String(required=True, validate=validate.Length(1, supervision.MAX_TEXT))


@bp.get("/supervision-items")
@login_required
def list_supervision_items():
    """Newest first (web.api.paging); `before_id` still pages as it did."""
    query = SupervisionListQuery().load(request.args)
    limit, cursor = query.pop("limit"), query.pop("cursor", None)
    if cursor:
        query["before_id"] = cursor[0]
    filters = supervision.Filters(**query, limit=limit + 1)
    with get_db().read() as session:
        found = supervision.list_items(session, g.user, filters)
    items, next_cursor = ITEMS.page(found, limit, lambda row: (row["item"].id,))
    return SupervisionPageSchema().dump({"items": items, "next_cursor": next_cursor,
                                         "next_before_id": items[-1]["item"].id if next_cursor else None})


@bp.get("/supervision-items/<int:item_id>")
@login_required
def get_supervision_item(item_id):
    with get_db().read() as session:
        view = supervision.get_item(session, item_id, g.user)
    return {**SupervisionItemSchema().dump(view["item"]), "appeal_number": view["appeal"].number}


@bp.post("/supervision-items/<int:item_id>/respond")
@login_required
def respond_to_supervision_item(item_id):
    data = json_body(RespondSchema())
    item = supervision.respond(get_db(), item_id, data["response"], data["attachment_ids"], g.user)
    return SupervisionItemSchema().dump(item)


@bp.post("/supervision-items/<int:item_id>/close")
@login_required
def close_supervision_item(item_id):
    data = json_body(CloseSchema())
    return SupervisionItemSchema().dump(supervision.close(get_db(), item_id, data["note"], g.user))
