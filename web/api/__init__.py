"""JSON API v1. Views validate input, call one engine function, and map its result or its
exception to a response; they never open transactions themselves."""
from flask import Blueprint, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessError
from runtime.idempotency import checked_key

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, code: str, message: str, fields: dict | None = None, reason: str | None = None):
    """The API's error body: `code` names the kind (per HTTP status), `reason` the engine's stable
    code for what happened (task_claimed, link_expired, ...), `fields` the messages per field."""
    body = {"error": {"code": code, "message": message}}
    if reason:
        body["error"]["reason"] = reason
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


# Ids are INTEGER columns (at most 2**31 - 1 on PostgreSQL): a larger id names nothing.
MAX_ID = 2**31 - 1


def json_object() -> dict | None:
    """The request body as a JSON object; None if it is not JSON, not an object, or nested
    too deeply to parse."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return None
    return data if isinstance(data, dict) else None


def check_storable(data: dict) -> dict:
    """Values no column can hold are invalid input, not database errors: NUL characters
    (PostgreSQL text) and numbers beyond INTEGER. Raises InvalidInput per field path."""
    errors, stack = {}, [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value))
        elif isinstance(value, str) and "\x00" in value:
            errors.setdefault(path or "_schema", []).append("不能包含空字符 (NUL)")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_ID:
            errors.setdefault(path or "_schema", []).append(f"数值超出范围（最大 {MAX_ID}）")
    if errors:
        raise InvalidInput("submitted values cannot be stored", errors)
    return data


@bp.url_value_preprocessor
def _impossible_ids(_endpoint, values):
    """An id beyond INTEGER or with a NUL character is unknown (404), not a database error."""
    for value in (values or {}).values():
        if isinstance(value, int) and value > MAX_ID or isinstance(value, str) and "\x00" in value:
            raise NotFound("no such id")


@bp.errorhandler(InvalidInput)
def _invalid(err):
    return error(400, "invalid_input", str(err), err.fields, err.reason)


@bp.errorhandler(ValidationError)
def _marshmallow(err):
    fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    return error(400, "invalid_input", "request does not match the schema", fields)


@bp.errorhandler(NotFound)
def _not_found(err):
    return error(404, "not_found", str(err), reason=err.reason)


@bp.errorhandler(Forbidden)
def _forbidden(err):
    return error(403, "forbidden", str(err), reason=err.reason)


@bp.errorhandler(Conflict)
def _conflict(err):
    return error(409, "conflict", str(err), reason=err.reason)


@bp.errorhandler(ProcessError)
def _process(err):
    return error(422, "process_error", str(err), reason=err.reason)


@bp.errorhandler(HTTPException)
def _http(err):
    return error(err.code, err.name.lower().replace(" ", "_"), err.description)


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header, checked. Raises InvalidInput."""
    return checked_key(request.headers.get("Idempotency-Key"))


def replayable(answer):
    """A view's answer from runtime.idempotency.once, as a Flask response (a replay says so)."""
    return answer.body, answer.status_code, ({"Idempotent-Replayed": "true"} if answer.replayed else {})


from . import appeals, auth, openapi, operations, reference, supervision, tasks  # noqa: F401  (routes register on import)
