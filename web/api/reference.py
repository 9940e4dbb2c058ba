"""Reference data clients need to fill forms: organizer units, forms, health."""
from flask import request
from sqlalchemy import text

from hotline import units as organizer_units
from runtime import forms

from .. import get_db
from . import bp
from .auth import login_required
from .paging import Cursor, PageQuery
from .schemas import UNITS, UnitPageSchema


class UnitListQuery(PageQuery):
    cursor = Cursor(UNITS)


@bp.get("/health")
def health():
    with get_db().read() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/units")
@login_required
def list_units():
    """Active units by id (web.api.paging)."""
    query = UnitListQuery().load(request.args)
    after = query["cursor"][0] if "cursor" in query else None
    with get_db().read() as session:
        found = organizer_units.list_active(session, after, query["limit"] + 1)
    items, next_cursor = UNITS.page(found, query["limit"], lambda unit: (unit.id,))
    return UnitPageSchema().dump({"items": items, "next_cursor": next_cursor})


@bp.get("/forms/<name>")
@login_required
def get_form(name):
    schema, ui = forms.load(name)
    return {"name": name, "schema": schema, "ui_schema": ui}
