"""Token sign-in for API clients: POST /auth/token, then `Authorization: Bearer <token>`. A token
ends when its user's sessions end (hotline.accounts.end_sessions deletes it), so the check on
each request is that the token still exists, is unexpired and its user active."""
from functools import wraps

from flask import g, request

from hotline import accounts as users
from runtime.errors import Forbidden

from .. import get_db
from . import bp, check_storable, error, json_object
from .schemas import LoginSchema, TokenSchema


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = None
        if scheme.lower() == "bearer" and token:
            with get_db().read() as session:
                user = users.user_for_token(session, token.strip())
        if user is None:
            return error(401, "unauthorized", "sign in first: POST /api/v1/auth/token")
        g.user = user
        return view(*args, **kwargs)
    return wrapper


def json_body(schema):
    """The request's JSON object validated by a marshmallow schema (400 otherwise)."""
    data = json_object()
    if data is None:
        from marshmallow import ValidationError
        raise ValidationError({"_schema": ["request body must be a JSON object"]})
    return schema.load(data)


@bp.post("/auth/token")
def issue_token():
    data = check_storable(json_body(LoginSchema()))
    try:
        token, row, user = users.issue_api_token(get_db(), data["username"], data["password"],
                                                 address=request.remote_addr)
    except Forbidden as err:
        return error(401, "unauthorized", str(err))
    return TokenSchema().dump({"token": token, "expires_at": row.expires_at, "user": user}), 201
