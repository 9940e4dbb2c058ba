"""The JSON API's error body, shared by the API blueprint and the request guard (web/guard.py)
that refuses input before any view runs."""
from flask import jsonify


def error(status: int, code: str, message: str, fields: dict | None = None, reason: str | None = None):
    """`code` names the kind (per HTTP status), `reason` the engine's stable code for what
    happened (task_claimed, link_expired, ...), `fields` the messages per field."""
    body = {"error": {"code": code, "message": message}}
    if reason:
        body["error"]["reason"] = reason
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status
