"""Contact access requests (hotline.contact_requests): unit staff ask from the appellant card of
the task and appeal pages; supervisors grant or refuse from their list (or from the appeal's
card). Also the call-relay number units may dial instead (CALL_RELAY_NUMBER)."""
import os

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hotline import appeals, contact_requests
from runtime.errors import Conflict, InvalidInput

from .. import get_db
from ..auth import current_user, page_login_required
from ..urls import local_target

bp = Blueprint("contact_requests", __name__)


@bp.record_once
def _config(state):
    # a masked call relay (a number that connects to the appellant without showing either side's
    # number); empty: none is configured and the pages say so
    state.app.config.setdefault("CALL_RELAY_NUMBER", os.environ.get("CALL_RELAY_NUMBER", "").strip())


def conflict_message(err: Conflict) -> str:
    return {"confidential": _("诉求人要求保密，不能申请查看其身份信息；需要联系诉求人时，请通过 12345 平台转达。"),
            "closed": _("该诉求已办结，不能再申请查看联系方式。"),
            "already_granted": _("本单位已获授权查看联系方式。"),
            "already_requested": _("本单位的申请正在等待 12345 平台审核。"),
            "decided": _("该申请已处理。"),
            "not_working": _("该单位已不再承办此诉求，不能授权；请不予授权并说明理由。")}.get(err.reason, str(err))


@bp.post("/appeals/<int:appeal_id>/contact-requests")
@page_login_required()
def ask(appeal_id):
    """A unit asks to see the appellant's contact; back to the page it asked from."""
    back = local_target(request.form.get("next"), url_for("appeal.show", appeal_id=appeal_id))
    reason = request.form.get("reason", "")
    try:
        contact_requests.request_access(get_db(), appeal_id, reason, current_user())
    except (InvalidInput, Conflict) as err:
        with get_db().read() as session:
            appeal = appeals.get_visible(session, appeal_id, current_user())
        invalid = isinstance(err, InvalidInput)
        return render_template("contact_requests/ask.html", appeal=appeal, back=back, reason=reason,
                               errors=[_(m) for m in err.fields.get("reason", [])] if invalid else [],
                               problem=None if invalid else conflict_message(err)), 400 if invalid else 409
    flash(_("已提交申请，12345 平台审核后您会在此看到结果。"), "success")
    return redirect(back + "#appellant-access", 303)


@bp.get("/contact-requests")
@page_login_required("grant_contact")
def index():
    return _list()


@bp.post("/contact-requests/<int:request_id>/grant")
@page_login_required("grant_contact")
def grant(request_id):
    try:
        contact_requests.grant(get_db(), request_id, current_user())
    except Conflict as err:
        return _list(problem=conflict_message(err), status=409)
    flash(_("已授权该单位查看诉求人联系方式"), "success")
    return redirect(local_target(request.form.get("next"), url_for(".index")), 303)


@bp.post("/contact-requests/<int:request_id>/refuse")
@page_login_required("grant_contact")
def refuse(request_id):
    reason = request.form.get("reason", "")
    try:
        contact_requests.refuse(get_db(), request_id, reason, current_user())
    except InvalidInput as err:
        return _list(errors={request_id: [_(m) for m in err.fields.get("reason", [])]}, typed={request_id: reason},
                     status=400)
    except Conflict as err:
        return _list(problem=conflict_message(err), status=409)
    flash(_("已不予授权，申请单位会看到理由。"), "success")
    return redirect(local_target(request.form.get("next"), url_for(".index")), 303)


def _list(status=200, **extra):
    with get_db().read() as session:
        rows = contact_requests.list_pending(session)
    return render_template("contact_requests/index.html", rows=rows, **extra), status
