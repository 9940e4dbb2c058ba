"""The public portal at /public (issue 15): no account, phone first, zh-CN and English. Citizens
read the public FAQ, file an appeal and track it with a one-time SMS code (hotline.portal).

Every form works without JavaScript: one form per page, its buttons say what to do ("send a
code" keeps what was typed and renders the page again). Refusals are 400 with the field's
message, limits 429 with Retry-After; the portal shows no staff name, no comment and no other
appellant's data (hotline.portal_timeline). A tracking session is the appeal's number in the
signed session cookie for TRACK_FOR after a code opened it.
"""
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import attachments, intake, portal, portal_codes, portal_timeline
from hotline.appeals import INTAKE_FORM
from runtime.errors import Conflict, InvalidInput, NotFound

from .. import get_db
from .intake import choices, readable

bp = Blueprint("portal", __name__, url_prefix="/public")

TRACK_FOR = 30 * 60  # seconds a code keeps an appeal open in this browser
TRACKED = "portal_tracking"  # session key: {number: [appeal id, until (epoch seconds)]}
FILED = "portal_filed"  # session key: the number just filed, for the page that says so
LIMITS = {
    "code_just_sent": _l("验证码刚刚已发送，请稍候再重新获取。"),
    "codes_per_number": _l("该手机号获取验证码的次数过多，请稍后再试。"),
    "codes_per_address": _l("您所在的网络获取验证码的次数过多，请稍后再试。"),
    "submissions_per_number": _l("该手机号今天提交的诉求已达上限，请明天再提交；紧急情况请拨打 12345。"),
    "submissions_per_address": _l("您所在的网络今天提交的诉求已达上限，请明天再提交；紧急情况请拨打 12345。"),
}


@bp.after_request
def _allow_location(response):
    """The submit page may ask the phone for its position (web.security refuses it elsewhere)."""
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(self)"
    return response


def _language() -> str:
    return "en" if str(get_locale()) == "en" else "zh"


def _address() -> str:
    return request.remote_addr or "unknown"


def _limited(err: portal.Limited) -> str:
    """The refusal in the reader's words, with when to try again."""
    wait = err.retry_after
    when = (_("%(n)s 秒", n=wait) if wait < 120 else _("%(n)s 分钟", n=-(-wait // 60)) if wait < 7200
            else _("%(n)s 小时", n=-(-wait // 3600)))
    return f"{LIMITS.get(err.reason, LIMITS['codes_per_number'])} {_('请在 %(when)s后再试。', when=when)}"


def _field_messages(fields: dict) -> dict:
    """Field messages as the page shows them (each translated by its text in the template); an
    upload's size limit names its number, so it is translated here."""
    found = readable(fields)
    mb = current_app.config["MAX_ATTACHMENT_MB"]
    return {name: [_("文件不能超过 %(n)s MB", n=mb) if m.startswith("文件不能超过") else m for m in messages]
            for name, messages in found.items()}


# -- landing and FAQ ---------------------------------------------------------------------------

@bp.get("")
def index():
    with get_db().read() as db_session:
        return render_template("portal/index.html", hits=portal.faq(db_session, "", limit=5))


@bp.get("/faq")
def faq():
    query = request.args.get("q", "").strip()[:100]
    with get_db().read() as db_session:
        return render_template("portal/faq.html", query=query, hits=portal.faq(db_session, query))


@bp.get("/faq/<int:article_id>")
def faq_article(article_id):
    with get_db().read() as db_session:
        try:
            found = portal.faq_article(db_session, article_id)
        except NotFound:
            abort(404)
    return render_template("portal/article.html", **found)


# -- submitting --------------------------------------------------------------------------------

def _submit_page(values: dict, errors=None, notice=None, refused=None, status=200):
    with get_db().read() as db_session:
        regions = intake.regions(db_session)
        hits = portal.suggestions(db_session, values.get("content", "")) or portal.faq(db_session, "", limit=3)
    response = current_app.make_response((render_template(
        "portal/submit.html", values=values, errors=errors or {}, notice=notice, refused=refused, hits=hits,
        regions=regions, types=choices(INTAKE_FORM, "appeal_type"), kinds=choices(INTAKE_FORM, "appellant.kind"),
        max_photos=portal.MAX_PHOTOS, max_mb=current_app.config["MAX_ATTACHMENT_MB"]), status))
    return response


@bp.get("/submit")
def submit_form():
    return _submit_page({"kind": "citizen"})


@bp.post("/submit")
def submit():
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    try:
        if values.get("action") == "code":
            portal.request_submit_code(get_db(), values.get("phone", ""), _address(), _language())
            return _submit_page(values, notice=_("验证码已发送到您的手机，10 分钟内有效。"))
        photos = [attachments.Upload(Path(current_app.config["ATTACHMENT_DIR"]), (f.filename or "").replace("\x00", ""),
                                     f.stream, current_app.config["MAX_ATTACHMENT_MB"] << 20)
                  for f in request.files.getlist("photos") if f.filename]
        appeal = portal.submit(get_db(), values, photos, _address(), _language())
    except portal.Limited as err:
        response = _submit_page(values, refused=_limited(err), status=429)
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    except InvalidInput as err:
        return _submit_page(values, errors=_field_messages(err.fields), status=400)
    except Conflict:  # the code was used meanwhile: the same form sent twice
        return _submit_page(values, errors={"code": [portal_codes.USED]}, status=400)
    session[FILED] = appeal.number
    return redirect(url_for("portal.submitted"))


@bp.get("/submitted")
def submitted():
    number = session.get(FILED)
    if not number:
        return redirect(url_for("portal.index"))
    return render_template("portal/submitted.html", number=number)


# -- tracking ----------------------------------------------------------------------------------

def _track_page(values: dict, errors=None, notice=None, refused=None, status=200):
    return current_app.make_response((render_template("portal/track.html", values=values, errors=errors or {},
                                                      notice=notice, refused=refused), status))


@bp.get("/track")
def track_form():
    return _track_page({"number": request.args.get("number", "")[:30]})


@bp.post("/track")
def track():
    values = {k: request.form.get(k, "").strip()[:40] for k in ("number", "phone", "code", "action")}
    try:
        if values["action"] == "code":
            portal.request_track_code(get_db(), values["number"], values["phone"], _address(), _language())
            return _track_page(values, notice=_("如果诉求编号和手机号相符，验证码已发送到该手机，10 分钟内有效。"))
        appeal_id = portal.open_tracking(get_db(), values["number"], values["phone"], values["code"])
    except portal.Limited as err:
        response = _track_page(values, refused=_limited(err), status=429)
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    except InvalidInput as err:
        return _track_page(values, errors=err.fields, status=400)
    number = portal.appeal_number(values["number"])
    opened = {n: v for n, v in session.get(TRACKED, {}).items() if v[1] > time.time()}
    opened[number] = [appeal_id, int(time.time()) + TRACK_FOR]
    session[TRACKED] = dict(list(opened.items())[-5:])
    return redirect(url_for("portal.tracking", number=number))


def _tracked(number: str) -> int | None:
    found = session.get(TRACKED, {}).get(number)
    return found[0] if found and found[1] > time.time() else None


@bp.get("/track/<number>")
def tracking(number):
    appeal_id = _tracked(number[:30])
    if appeal_id is None:
        return redirect(url_for("portal.track_form", number=number[:30]))
    return _tracking_page(appeal_id)


def _tracking_page(appeal_id: int, errors=None, values=None, status=200):
    with get_db().read() as db_session:
        found = portal_timeline.view(db_session, appeal_id)
        found["evaluation_open"] = portal.evaluation_open(db_session, appeal_id)
    return render_template("portal/tracking.html", **found, errors=errors or {}, values=values or {},
                           evaluations=portal.EVALUATIONS), status


@bp.post("/track/<number>/evaluate")
def evaluate(number):
    appeal_id = _tracked(number[:30])
    if appeal_id is None:
        return redirect(url_for("portal.track_form", number=number[:30]))
    values = {k: request.form.get(k, "").strip() for k in ("evaluation", "resolved", "comment")}
    resolved = {"yes": True, "no": False}.get(values["resolved"])
    try:
        portal.evaluate(get_db(), appeal_id, values["evaluation"], resolved, values["comment"])
    except InvalidInput as err:
        return _tracking_page(appeal_id, err.fields, values, 400)
    except Conflict:  # not (or no longer) the appellant's turn: evaluated by the SMS link or a return-visit call
        return _tracking_page(appeal_id, {"evaluation": ["目前无需评价，或评价已经记录"]}, values, 409)
    return redirect(url_for("portal.tracking", number=number[:30], evaluated=1))
