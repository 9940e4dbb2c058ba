"""Signing in to the pages: a session cookie after a password check (locked after repeated
failures, see hotline.accounts.sign_in). `page_login_required` guards a page by capability
(hotline.access)."""
from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from hotline import accounts as users
from hotline.access import can
from hotline.models import User
from runtime.errors import Forbidden

from . import get_db
from .urls import local_target

bp = Blueprint("auth", __name__)


def current_user() -> User | None:
    if "user" not in g:
        g.user = None
        user_id = session.get("user_id")
        if user_id is not None:
            with get_db().read() as db_session:
                user = db_session.get(User, user_id)
            g.user = user if user is not None and user.active else None
    return g.user


def page_login_required(capability: str | None = None):
    """Sign-in required; with a capability, only the roles that have it may open the page (else 403)."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if capability and not can(user, capability):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:50]
        try:
            user = users.sign_in(get_db(), username, request.form.get("password", "")[:200])
        except Forbidden as err:
            flash(str(err), "error")
            return render_template("auth/login.html", username=username), 401
        lang = session.get("lang")
        session.clear()  # a fresh session on sign-in: nothing carried over from before
        session.update({"user_id": user.id, **({"lang": lang} if lang else {})})
        session.permanent = True
        target = request.args.get("next", "")
        return redirect(local_target(target, url_for("home.index")))
    return render_template("auth/login.html", username="")


@bp.post("/logout")
def logout():
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
