"""Reference data clients need to fill forms: organizer units, forms, health."""

from sqlalchemy import select, text

from hotline.models import OrganizerUnit
from runtime import forms

from .. import get_db
from . import bp
from .auth import login_required
from .schemas import UnitSchema


@bp.get("/health")
def health():
    with get_db().read() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/units")
@login_required
def list_units():
    with get_db().read() as session:
        units = session.scalars(select(OrganizerUnit).where(OrganizerUnit.active).order_by(OrganizerUnit.id))
        return {"items": UnitSchema(many=True).dump(units)}


@bp.get("/forms/<name>")
@login_required
def get_form(name):
    schema, ui = forms.load(name)
    return {"name": name, "schema": schema, "ui_schema": ui}
