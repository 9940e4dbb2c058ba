"""Pages for appellants, no sign-in: the one-time evaluation link sent by SMS (Art. 21)."""
from flask import Blueprint, render_template, request

from hotline import return_visits
from runtime.errors import Conflict, InvalidInput, NotFound

from .. import get_db

bp = Blueprint("public", __name__)

EVALUATIONS = ("satisfied", "basically_satisfied", "dissatisfied")


@bp.get("/e/<token>")
def evaluate(token):
    return _page(token)


@bp.post("/e/<token>")
def submit_evaluation(token):
    evaluation = request.form.get("evaluation", "")
    resolved = {"yes": True, "no": False}.get(request.form.get("resolved", ""))
    comment = request.form.get("comment", "").strip()[:2000]
    if evaluation not in EVALUATIONS:
        return _page(token, errors={"evaluation": True}, values=request.form, status=400)
    try:
        appeal = return_visits.submit(get_db(), token[:100], evaluation, resolved, comment)
    except InvalidInput:
        return _page(token, errors={"comment": True}, values=request.form, status=400)
    except NotFound:
        return _page(token)
    except Conflict as err:  # used, expired or closed between opening the page and sending it
        return _refused(err)
    return render_template("public/thanks.html", appeal=appeal)


def _refused(err: Conflict):
    reason = {"link_used": "used", "link_expired": "expired", "appeal_closed": "closed",
              "evaluated_by_staff": "evaluated"}.get(err.reason, "expired")
    return render_template("public/link_invalid.html", reason=reason), 410


def _page(token, errors=None, values=None, status=200):
    try:
        with get_db().read() as session:
            _link, appeal = return_visits.open_link(session, token[:100])
    except NotFound:
        return render_template("public/link_invalid.html", reason="unknown"), 404
    except Conflict as err:
        return _refused(err)
    return render_template("public/evaluate.html", appeal=appeal, errors=errors or {},
                           values=values or {}, choices=EVALUATIONS), status
