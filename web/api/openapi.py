"""GET /openapi.json: an OpenAPI 3.1 document built from the marshmallow schemas, with the
intake form's JSON Schema as the body of POST /appeals. Every list is paged (web.api.paging):
`limit` and `cursor` in, `next_cursor` out."""
import copy
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from hotline import attachments
from hotline.appeals import INTAKE_FORM
from runtime import forms

from .. import statuses
from . import MAX_ID, bp, operations, paging, supervision
from . import schemas as s

ERRORS = {str(code): {"description": text, "content": {"application/json": {"schema": "Error"}}}
          for code, text in [(400, "invalid input, with messages per field"), (401, "not signed in"),
                             (403, "not allowed for this user"), (404, "not found"),
                             (409, "already completed, claimed by another user, or changed concurrently"),
                             (413, "request body larger than the limit (MAX_BODY_KB; uploads MAX_ATTACHMENT_MB)"),
                             (422, "the process cannot take this step now")]}
# what an attachment may be: its first bytes decide (hotline.attachments), whatever the client says
ATTACHMENT_TYPES = sorted({content_type for _offset, _magic, content_type in attachments.SIGNATURES})
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}  # INTEGER columns: a larger id names nothing
# newest-first lists paged by id before cursors: still accepted, not with a cursor
BEFORE_ID = {"in": "query", "name": "before_id", "schema": ID, "deprecated": True,
             "description": "the rows older than this id (use cursor instead; not both)"}
PAGED = " Paged: at most `limit` rows (default 50, at most 200), then pass `next_cursor` as `cursor`."


def _op(summary, response=None, body=None, params=None, status="200", secured=True):
    op = {"summary": summary, "responses": {status: {"description": "OK"}, **ERRORS}}
    if response:
        op["responses"][status]["content"] = {"application/json": {"schema": response}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if not secured:
        op["security"] = []
    return op


# a retry with the same key gets the first answer and changes nothing (runtime.idempotency)
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"}}


def _path_param(name, type_="integer"):
    return [{"in": "path", "name": name, "required": True, "schema": {"type": type_}}]


@lru_cache(maxsize=1)
def build() -> dict:
    spec = APISpec(title="Hotline 12345 API", version="1.0.0", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()], servers=[{"url": "/api/v1"}],
                   security=[{"bearer": []}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    # Nested schemas register themselves under their own name: list them before their parents.
    for name in ["Login", "Token", "CompleteTask", "Task", "TaskPage", "TaskDetail", "Appeal", "Attachment",
                 "AppealDetail", "AppealPage", "Unit", "UnitPage", "Error"]:
        spec.components.schema(name, schema=getattr(s, f"{name}Schema"))
    intake, _ = forms.load(INTAKE_FORM)
    spec.components.schema("RegisterAppeal", {k: v for k, v in intake.items()
                                              if not k.startswith("$") and not k.startswith("x-")})
    upload = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]},
        "encoding": {"file": {"contentType": ", ".join(ATTACHMENT_TYPES)}}}}}
    spec.path("/auth/token", operations={"post": _op("Sign in and get a bearer token", "Token", "Login",
                                                     status="201", secured=False)})
    spec.path("/appeals", operations={
        "post": _op("Register an appeal and start its process", "Appeal", "RegisterAppeal", status="201",
                    params=[IDEMPOTENCY_KEY]),
        "get": _op("List appeals visible to me, newest first." + PAGED, "AppealPage", params=[
            {"in": "query", "name": "status", "schema": {"type": "string"}}, *paging.parameters(), BEFORE_ID])})
    spec.path("/appeals/{appeal_id}", operations={"get": _op(
        "An appeal with its open tasks, history and attachments", "AppealDetail", params=_path_param("appeal_id"))})
    spec.components.schema("Urge", {"type": "object", "required": ["note"], "additionalProperties": False,
                                    "properties": {"note": {"type": "string", "minLength": 1, "maxLength": 500}}})
    spec.components.schema("UrgeResult", {"type": "object", "properties": {
        "holders": {"type": "array", "items": {"type": "string"}}, "count": {"type": "integer"}}})
    spec.path("/appeals/{appeal_id}/urges", operations={"post": _op(
        "Link a repeat call to an open appeal: urge whoever holds it (催办)", "UrgeResult", "Urge",
        params=_path_param("appeal_id"), status="201")})
    spec.components.schema("Withdrawal", {"type": "object", "required": ["reason"], "additionalProperties": False,
                                          "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}}})
    spec.path("/appeals/{appeal_id}/withdrawal", operations={"post": _op(
        "The appellant withdraws the appeal before the reply (撤单); 409 where the diagram no longer allows it",
        None, "Withdrawal", params=_path_param("appeal_id"), status="204")})
    attach = _op("Upload a photo, video or PDF", "Attachment", params=_path_param("appeal_id"), status="201")
    attach["requestBody"] = upload
    spec.path("/appeals/{appeal_id}/attachments", operations={"post": attach})
    download = _op("Download an attachment", params=_path_param("attachment_id"))
    download["responses"]["200"]["content"] = {content_type: {"schema": {"type": "string", "format": "binary"}}
                                               for content_type in ATTACHMENT_TYPES}
    spec.path("/attachments/{attachment_id}", operations={"get": download})
    spec.path("/tasks", operations={"get": _op(
        "My open tasks by due time (those without one last), then id." + PAGED, "TaskPage", params=[
            {"in": "query", "name": "scope", "schema": {"type": "string", "enum": ["mine", "claimed"]}},
            *paging.parameters()])})
    tid = _path_param("task_id", "string")
    spec.path("/tasks/{task_id}", operations={"get": _op("A task with its form", "TaskDetail", params=tid)})
    spec.path("/tasks/{task_id}/claim", operations={"post": _op("Claim a task", "Task", params=tid)})
    spec.path("/tasks/{task_id}/unclaim", operations={"post": _op("Release a claimed task", "Task", params=tid)})
    spec.path("/tasks/{task_id}/complete", operations={"post": _op(
        "Complete a task with its form data", "Task", "CompleteTask", params=[*tid, IDEMPOTENCY_KEY])})
    spec.path("/units", operations={"get": _op("Active organizer units by id." + PAGED, "UnitPage",
                                               params=paging.parameters())})
    spec.path("/forms/{name}", operations={"get": _op(
        "A form's JSON Schema and UI schema, by schema file name", params=_path_param("name", "string"))})
    for name in ("Incident", "IncidentPage", "CalendarDay", "CalendarYear"):
        spec.components.schema(name, schema=getattr(operations, f"{name}Schema"))
    spec.path("/incidents", operations={"get": _op(
        "Timer jobs that failed and wait for a retry, oldest due first." + PAGED, "IncidentPage",
        params=paging.parameters())})
    spec.path("/incidents/{job_id}/retry", operations={"post": _op(
        "Retry a failed timer job now", "Incident", params=_path_param("job_id"))})
    spec.path("/calendar/alerts", operations={"get": _op(
        "Provisional deadlines waiting for a year's schedule: one summary per kind of alert (not paged)")})
    spec.path("/calendar/days", operations={"post": _op(
        "Override one day (a local holiday, a typhoon day off); recomputes affected deadlines",
        body="CalendarDay")})
    spec.path("/calendar/years", operations={"post": _op(
        "Load a year's holiday schedule; recomputes provisional deadlines", body="CalendarYear", status="201")})
    for name in ("SupervisionItem", "SupervisionPage", "Respond", "Close"):
        spec.components.schema(name, schema=getattr(supervision, f"{name}Schema"))
    item = _path_param("item_id")
    spec.path("/supervision-items", operations={"get": _op(
        "The supervision register (a unit sees only its own items), newest first." + PAGED, "SupervisionPage",
        params=[*({"in": "query", "name": name, "schema": schema} for name, schema in (
            ("status", {"type": "string", "enum": list(supervision.supervision.STATUSES)}),
            ("reason", {"type": "string", "enum": list(supervision.supervision.REASONS)}),
            ("escalation", {"type": "string", "enum": list(supervision.escalation.limits())}),
            ("unit_id", ID), ("overdue", {"type": "boolean"}))), *paging.parameters(), BEFORE_ID])})
    spec.path("/supervision-items/{item_id}", operations={"get": _op(
        "One supervision item", "SupervisionItem", params=item)})
    spec.path("/supervision-items/{item_id}/respond", operations={"post": _op(
        "The unit leader reports the rectification", "SupervisionItem", "Respond", params=item)})
    spec.path("/supervision-items/{item_id}/close", operations={"post": _op(
        "A supervisor closes the item", "SupervisionItem", "Close", params=item)})
    spec.path("/evaluation", operations={"get": _op(
        "The unit evaluation of a period, as the evaluation page shows it (web/api/evaluation.py): the "
        "indicators with article and formula, every unit's counts, figures and rank, the ranking within each "
        "appeal type, honour lists and the people named. An organizer leader gets the own unit's row; a city or "
        "county centre's staff only their centre's subtree.",
        params=[{"in": "query", "name": "period", "schema": {"type": "string", "pattern": "^\\d{4}(-(\\d{2}|Q[1-4]))?$"},
                 "description": "2026-10, 2026-Q4 or 2026; default the last complete month"},
                {"in": "query", "name": "centre", "schema": {"type": "string", "maxLength": 40},
                 "description": "a centre's id or code; default the user's own centre (the province: every appeal)"}])})
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_document():
    """The document, with the statuses GET /appeals accepts: those the deployed diagrams declare
    (a deployment changes them, so they are filled in per request)."""
    document = copy.deepcopy(build())
    for param in document["paths"]["/appeals"]["get"]["parameters"]:
        if param["name"] == "status":
            param["schema"]["enum"] = sorted(statuses.catalogue())
    return document
