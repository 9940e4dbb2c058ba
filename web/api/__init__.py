"""JSON API v1. Views validate input, call one engine function, and map its result or its
exception to a response; they never open transactions themselves."""
from flask import Blueprint, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessError
from runtime.idempotency import checked_key

from .. import guard
from ..json_errors import error

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# Ids are INTEGER columns (at most 2**31 - 1 on PostgreSQL): a larger id names nothing.
MAX_ID = guard.MAX_ID


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
    (PostgreSQL text), lone surrogates, dates outside 1900–2100 and numbers beyond INTEGER
    (web.guard, which already refused them in the request). Raises InvalidInput per field path."""
    errors = guard.storable_problems(data)
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


from . import appeals, auth, evaluation, openapi, operations, reference, supervision, tasks  # noqa: F401  (routes register on import)
