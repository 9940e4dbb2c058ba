"""JSON API v1. Views validate input, call one engine function, and map its result or its
exception to a response; they never open transactions themselves."""
from flask import Blueprint, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


@bp.errorhandler(InvalidInput)
def _invalid(err):
    return error(400, "invalid_input", str(err), err.fields)


@bp.errorhandler(ValidationError)
def _marshmallow(err):
    fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    return error(400, "invalid_input", "request does not match the schema", fields)


@bp.errorhandler(NotFound)
def _not_found(err):
    return error(404, "not_found", str(err))


@bp.errorhandler(Forbidden)
def _forbidden(err):
    return error(403, "forbidden", str(err))


@bp.errorhandler(Conflict)
def _conflict(err):
    return error(409, "conflict", str(err))


@bp.errorhandler(ProcessError)
def _process(err):
    return error(422, "process_error", str(err))


@bp.errorhandler(HTTPException)
def _http(err):
    return error(err.code, err.name.lower().replace(" ", "_"), err.description)


from . import appeals, auth, openapi, reference, tasks  # noqa: E402,F401  (routes register on import)
