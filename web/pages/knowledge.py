"""Knowledge base pages: everyone signed in searches and reads; organizer units write their
own unit's articles, platform staff every article (Art. 9(6), 11(3))."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from hotline import knowledge
from hotline.access import PLATFORM_ROLES
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound

from .. import get_db
from ..api import MAX_ID, check_storable
from ..auth import current_user, page_login_required

bp = Blueprint("knowledge", __name__)


def highlight(text: str, query: str) -> Markup:
    """The text, escaped, with the query's terms marked."""
    html = str(escape(text))
    for term in sorted({t for t in query.split() if t}, key=len, reverse=True):
        html = html.replace(str(escape(term)), f"<mark>{escape(term)}</mark>")
    return Markup(html)  # built from escaped pieces only


@bp.get("/knowledge")
@page_login_required("read_knowledge")
def index():
    query = request.args.get("q", "").strip()[:100]
    category = request.args.get("category", "")[:50] or None
    unit_id = request.args.get("unit", type=int)
    mine = bool(request.args.get("mine")) and current_user().unit_id is not None
    with get_db().read() as session:
        hits = knowledge.search(session, query.replace("\x00", ""), category=category,
                                unit_id=current_user().unit_id if mine else unit_id,
                                include_inactive=mine, limit=50)
        return render_template("knowledge/index.html", hits=hits, query=query, category=category, mine=mine,
                               unit_id=unit_id, categories=knowledge.categories(session),
                               units=knowledge.units(session), highlight=highlight,
                               can_write=knowledge.may_edit(current_user()))


def _article_id(article_id: int) -> int:
    if article_id > MAX_ID:
        abort(404)
    return article_id


@bp.get("/knowledge/<int:article_id>")
@page_login_required("read_knowledge")
def view(article_id):
    with get_db().read() as session:
        try:
            found = knowledge.detail(session, _article_id(article_id))
        except NotFound:
            abort(404)
    return render_template("knowledge/view.html", **found,
                           can_edit=knowledge.may_edit(current_user(), found["article"]))


def _editor(values: dict, article=None, errors=None, status=200, conflict=False):
    with get_db().read() as session:
        return render_template("knowledge/edit.html", values=values, article=article, errors=errors or {},
                               conflict=conflict,
                               units=knowledge.units(session), categories=knowledge.categories(session),
                               platform=current_user().role in PLATFORM_ROLES,
                               # (base.html sets its own `platform`, which wins inside the blocks)
                               may_publish=current_user().role in PLATFORM_ROLES), status


def _form() -> dict:
    values = {k: request.form.get(k, "").strip() for k in ("title", "body", "category", "category_en", "unit_id",
                                                             "seen")}
    values["active"] = request.form.get("active") == "1"
    values["public"] = request.form.get("public") == "1"
    return values


def _data(values: dict) -> dict:
    unit = values["unit_id"]
    data = {"title": values["title"], "body": values["body"], "category": values["category"],
            "category_en": values["category_en"],
            "unit_id": int(unit) if unit.isdigit() and int(unit) <= MAX_ID else None, "active": values["active"],
            "public": values["public"]}
    return check_storable(data)


@bp.route("/knowledge/new", methods=["GET", "POST"])
@page_login_required("edit_knowledge")
def new():
    user = current_user()
    if request.method == "GET":
        return _editor({"active": True, "unit_id": str(user.unit_id or "")})
    values = _form()
    values["active"] = True
    try:
        article = knowledge.create(get_db(), _data(values), user)
    except Forbidden:
        abort(403)
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _editor(values, errors=err.fields, status=400)
    flash(_("知识库文章已发布。"), "success")
    return redirect(url_for("knowledge.view", article_id=article.id))


@bp.route("/knowledge/<int:article_id>/edit", methods=["GET", "POST"])
@page_login_required("edit_knowledge")
def edit(article_id):
    user = current_user()
    with get_db().read() as session:
        try:
            article = knowledge.get(session, _article_id(article_id))
        except NotFound:
            abort(404)
    if not knowledge.may_edit(user, article):
        abort(403)
    if request.method == "GET":
        return _editor({"title": article.title, "body": article.body, "category": article.category or "",
                        "category_en": article.category_en or "",
                        "unit_id": str(article.unit_id or ""), "active": article.active, "public": article.public,
                        "seen": article.updated_at.isoformat()}, article)
    values = _form()
    try:
        knowledge.update(get_db(), article_id, _data(values), user, seen_updated_at=values["seen"] or None)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _editor(values, article, err.fields, 400)
    except Conflict:
        with get_db().read() as session:
            latest = knowledge.get(session, article_id)
        values["seen"] = latest.updated_at.isoformat()  # saving again overwrites, knowingly
        flash(_("该文章已被他人修改。您的内容保留在下方，请核对最新版本后再保存。"), "error")
        return _editor(values, latest, status=409, conflict=True)
    flash(_("知识库文章已更新。"), "success")
    return redirect(url_for("knowledge.view", article_id=article_id))
