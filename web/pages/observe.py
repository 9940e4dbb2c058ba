"""What observers from outside read (Art. 26, 27: deputies, CPPCC members, efficiency
supervisors, the media): the published evaluation periods as they were frozen, and the
anonymised statistics per centre published with them. Nothing here is computed from the live
data and nothing links to an appeal, so an observer never meets a name, a phone, an appeal's
text or a member of staff. Everyone who reads published figures may open these pages."""
from flask import Blueprint, abort, render_template

from hotline import publication
from runtime.errors import NotFound

from .. import get_db
from ..api import MAX_ID
from ..auth import page_login_required
from .publication import labels

bp = Blueprint("observe", __name__, url_prefix="/observe")


@bp.context_processor
def _labels():
    return labels()


@bp.get("")
@page_login_required("read_published_evaluation")
def index():
    with get_db().read() as session:
        rows = publication.list_all(session)
    return render_template("publication/observe_index.html", rows=rows)


@bp.get("/<int:publication_id>")
@page_login_required("read_published_evaluation")
def show(publication_id):
    if publication_id > MAX_ID:
        abort(404)
    with get_db().read() as session:
        try:
            found = publication.get(session, publication_id)
        except NotFound:
            abort(404)
    return render_template("publication/observe_show.html", p=found, s=found.snapshot)
