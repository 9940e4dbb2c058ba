"""marshmallow schemas of the API's envelopes and answers; the OpenAPI document is built
from them. Form payloads are JSON Schemas in forms/ (validated by runtime.forms)."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from workdays.calendar import TZ

from .. import statuses
from .paging import Cursor, Keyset, PageQuery, next_cursor_field, optional_time, row_id, text_id

# the lists' sort keys (web.api.paging): each ends with the row's id, so the order is total
TASKS = Keyset("tasks", optional_time, text_id)  # due time (none last), id
APPEALS = Keyset("appeals", row_id)  # newest first
UNITS = Keyset("units", row_id)


def _unknown_status(value):
    raise ValidationError(f"no deployed process declares the status {value!r}; known: {', '.join(statuses.catalogue())}")


class LocalDateTime(fields.DateTime):
    """Every time leaves the API in China Standard Time (+08:00), whatever the database kept."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value.astimezone(TZ) if value is not None else None, attr, obj, **kwargs)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class CommaList(fields.List):
    """A list kept as comma-separated text (",a,b," or "a,b"), empty parts dropped. Split here
    rather than in a fields.Function, which inspects its function's signature on every row."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return [part for part in (value or "").split(",") if part]


class LoginSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(1, 50))
    password = fields.String(required=True, validate=validate.Length(1, 200), load_only=True)


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    unit_id = fields.Integer(allow_none=True)


class TokenSchema(Schema):
    token = fields.String()
    expires_at = LocalDateTime()
    user = fields.Nested(UserSchema)


class CompleteTaskSchema(Strict):
    data = fields.Dict(keys=fields.String(), required=True, metadata={"description": "the task form's fields"})


class TaskListQuery(PageQuery):
    scope = fields.String(load_default="mine", validate=validate.OneOf(["mine", "claimed"]))
    cursor = Cursor(TASKS)


class BeforeIdQuery(PageQuery):
    """`before_id`, the paging of newest-first lists before cursors (kept for their clients):
    the rows older than that id. A cursor and a before_id together are refused."""
    before_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                               metadata={"description": "deprecated: use cursor"})

    @validates_schema
    def _one_position(self, data, **kwargs):
        if "cursor" in data and "before_id" in data:
            raise ValidationError("cursor 与 before_id 只能用一个", "cursor")


class AppealListQuery(BeforeIdQuery):
    status = fields.String(validate=lambda value: value in statuses.catalogue() or _unknown_status(value))
    cursor = Cursor(APPEALS)


class TaskSchema(Schema):
    id = fields.String()
    appeal_id = fields.Integer(attribute="business_key")
    bpmn_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    candidate_roles = CommaList()
    milestones = CommaList(metadata={"description": "what completing it may reach, as the diagram declares"})
    unit_id = fields.Integer(allow_none=True)
    due_at = LocalDateTime(allow_none=True)
    claimed_by_id = fields.Integer(allow_none=True)
    state = fields.String()
    created_at = LocalDateTime()


class HistorySchema(Schema):
    id = fields.Integer()
    at = LocalDateTime()
    action = fields.String()
    actor_id = fields.Integer(allow_none=True)
    task_bpmn_id = fields.String(allow_none=True)
    task_name = fields.String(allow_none=True)
    detail = fields.Raw(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class AppellantSchema(Schema):
    kind = fields.String()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    masked = fields.Boolean()


class AttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = LocalDateTime()


class AppealUnitSchema(Schema):
    unit_id = fields.Integer()
    role = fields.String()
    active = fields.Boolean()


class AppealSummarySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    appeal_type = fields.String()
    channel = fields.String()
    status = fields.String()
    status_label = fields.Method("_status_label")
    title = fields.String()
    urgent = fields.Boolean()
    lead_unit_id = fields.Integer(allow_none=True)
    accepted_at = LocalDateTime()
    handling_due_at = LocalDateTime(allow_none=True)

    def _status_label(self, appeal):
        return statuses.label(appeal.status)


class AppealSchema(AppealSummarySchema):
    content = fields.String()
    location = fields.String(allow_none=True)
    convenience_list = fields.Boolean()
    confidential = fields.Boolean()
    emergency = fields.Boolean()
    simple = fields.Boolean()
    dispatched_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    dispatch_due_at = LocalDateTime(allow_none=True)
    sign_for_due_at = LocalDateTime(allow_none=True)
    co_feedback_due_at = LocalDateTime(allow_none=True)
    extension_days = fields.Integer()
    rehandle_count = fields.Integer()
    satisfaction = fields.String(allow_none=True)
    resolved = fields.Boolean(allow_none=True)
    not_accepted_reason = fields.String(allow_none=True)
    guidance = fields.String(allow_none=True)
    answer = fields.String(allow_none=True)
    handling_result = fields.String(allow_none=True)
    reply_content = fields.String(allow_none=True)
    units = fields.List(fields.Nested(AppealUnitSchema))


class AppealDetailSchema(Schema):
    appeal = fields.Nested(AppealSchema)
    appellant = fields.Nested(AppellantSchema)
    tasks = fields.List(fields.Nested(TaskSchema))
    history = fields.List(fields.Nested(HistorySchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))


class AppealPageSchema(Schema):
    items = fields.List(fields.Nested(AppealSummarySchema))
    next_cursor = next_cursor_field()
    next_before_id = fields.Integer(allow_none=True, metadata={
        "description": "deprecated (use next_cursor): the before_id of the next page; null on the last"})


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    next_cursor = next_cursor_field()


class TaskDetailSchema(Schema):
    task = fields.Nested(TaskSchema)
    form_schema = fields.Raw()
    ui_schema = fields.Raw()


class UnitSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    region_id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)


class UnitPageSchema(Schema):
    items = fields.List(fields.Nested(UnitSchema))
    next_cursor = next_cursor_field()


class ErrorSchema(Schema):
    error = fields.Dict()
