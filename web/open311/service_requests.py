"""POST and GET requests, one request, and tokens. A POST carries its fields form-encoded as the
specification says (a JSON object is taken too, its `attribute` an object); `api_key` in the
body or the query string; an optional Idempotency-Key header makes a retry safe
(runtime.idempotency). GET answers carry no personal data (hotline.open311)."""
from dataclasses import asdict

from flask import request, url_for

from hotline import open311, open311_clients
from hotline import open311_queries as queries
from runtime import clock, idempotency
from runtime.errors import InvalidInput

from .. import get_db
from ..api import check_storable, json_object
from . import FORMAT, bp, localized, texts
from .formats import respond


@bp.post(f"/requests.{FORMAT}")
@localized
def post_request(fmt):
    params = _posted()
    key = params.pop("api_key", None) or request.args.get("api_key")
    params.pop("jurisdiction_id", None)  # one jurisdiction: ignored, as the specification allows
    with get_db().read() as session:
        client, account = open311_clients.authenticate(session, key)

    def perform(remember):
        def after(session, receipt):
            remember(session, idempotency.Answer(201, asdict(receipt)))
        return idempotency.Answer(201, asdict(open311.submit(get_db(), client, account, params, after)))
    answer = idempotency.once(get_db(), f"open311:{client.id}", idempotency.checked_key(
        request.headers.get("Idempotency-Key")), params, perform)
    receipt = open311.Receipt(**answer.body)
    return respond(fmt, "service_requests", [{"token": receipt.token, "service_notice": texts.notice(receipt),
                                              "account_id": receipt.account_id}], 201,
                   {"Idempotent-Replayed": "true"} if answer.replayed else None)


def _posted() -> dict[str, str]:
    """The POST's fields, one value each; a JSON object's `attribute` object as attribute[code]."""
    if request.is_json:
        data = json_object()
        if data is None:
            raise InvalidInput("not a JSON object", {"_schema": ["应为 JSON 对象"]})
        check_storable(data)
        flat = {}
        for name, value in data.items():
            if name == "attribute" and isinstance(value, dict):
                flat.update({f"attribute[{code}]": _text(v) for code, v in value.items()})
            else:
                flat[name] = _text(value)
        return flat
    return {name: request.form.get(name, "") for name in request.form}


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


@bp.get(f"/requests.{FORMAT}")
@localized
def list_requests(fmt):
    args = {name: ",".join(request.args.getlist(name)) for name in request.args}  # may be declared repeatedly
    query = queries.parse_query(args, clock.now())
    with get_db().read() as session:
        found, more = queries.find(session, query)
    headers = {}
    if more:  # the next page, as a Link header (RFC 8288): the body stays the specification's array
        following = url_for(".list_requests", fmt=fmt, _external=True, **{**args, "page": query.page + 1})
        headers["Link"] = f'<{following}>; rel="next"'
    return respond(fmt, "service_requests", [_request(f) for f in found], headers=headers)


@bp.get(f"/requests/<service_request_id>.{FORMAT}")
@localized
def get_request(service_request_id, fmt):
    with get_db().read() as session:
        found = queries.get(session, service_request_id[:50])
    return respond(fmt, "service_requests", [_request(found)])


@bp.get(f"/tokens/<token>.{FORMAT}")
@localized
def token(token, fmt):
    with get_db().read() as session:
        number = queries.by_token(session, token[:50])
    return respond(fmt, "service_requests", [{"service_request_id": number, "token": token}])


def _request(found: queries.Found) -> dict:
    """One request of GET requests: the specification's fields, in its order, no personal data."""
    appeal = found.appeal
    code, address = found.region or (None, None)
    return {"service_request_id": appeal.number, "status": "closed" if appeal.closed_at else "open",
            "status_notes": texts.status_notes(found.progress), "service_name": texts.service_name(appeal.appeal_type),
            "service_code": appeal.appeal_type, "description": None, "agency_responsible": found.unit,
            "service_notice": None, "requested_datetime": open311.local(appeal.accepted_at),
            "updated_datetime": open311.local(appeal.closed_at or appeal.updated_at),
            "expected_datetime": open311.local(appeal.handling_due_at), "address": address, "address_id": code,
            "zipcode": None, "lat": None, "long": None, "media_url": None}
