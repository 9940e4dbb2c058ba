"""Administration of Open311 client systems (issue 15): issue an API key to a named system (shown
this once), see who holds a working key, revoke one. The administrator alone."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hotline import open311_clients
from runtime.errors import Conflict, InvalidInput, NotFound

from .. import get_db
from ..auth import current_user, page_login_required

bp = Blueprint("open311_admin", __name__, url_prefix="/admin/open311")


def _page(values=None, errors=None, issued=None, status=200):
    with get_db().read() as session:
        rows = open311_clients.listing(session)
    return render_template("open311_admin/index.html", rows=rows, values=values or {}, errors=errors or {},
                           issued=issued, endpoint=request.url_root.rstrip("/") + "/open311/v2"), status


@bp.get("")
@page_login_required("administer")
def index():
    return _page()


@bp.post("")
@page_login_required("administer")
def create():
    name = request.form.get("name", "")[:200]
    try:
        client, key = open311_clients.create(get_db(), name, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _page({"name": name}, err.fields, status=400)
    # the key is on this answer only (no redirect: it is not kept anywhere to show again)
    return _page(issued={"client": client, "key": key})


@bp.post("/<int:client_id>/revoke")
@page_login_required("administer")
def revoke(client_id):
    try:
        client = open311_clients.revoke(get_db(), client_id, current_user())
    except NotFound:
        abort(404)
    except Conflict:
        flash(_("该客户端系统的密钥已吊销。"), "info")
        return redirect(url_for("open311_admin.index"))
    flash(_("已吊销客户端系统 %(name)s 的密钥，它不能再提交诉求。", name=client.name), "success")
    return redirect(url_for("open311_admin.index"))
