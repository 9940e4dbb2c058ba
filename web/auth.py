"""Signing in to the pages: a session cookie after a password check (throttled, never locked:
hotline.accounts.sign_in). The cookie carries the user's auth version; a cookie opened under an
older version (the user signed out, their password was reset, their role or unit changed, they
were deactivated) is void on its next request. `page_login_required` guards a page by capability
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
            current = (user is not None and user.active
                       and session.get("auth_version") == user.auth_version)
            g.user = user if current else None
            if not current:
                _clear_session()  # a stale cookie is dropped, so it cannot come back to life
    return g.user


def _clear_session() -> None:
    """Empty the session but keep the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


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
    signed_in = current_user()
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:50]
        try:
            user = users.sign_in(get_db(), username, request.form.get("password", "")[:200],
                                 address=request.remote_addr, replacing=signed_in.id if signed_in else None)
        except Forbidden:
            flash(_("用户名或密码错误"), "error")
            return render_template("auth/login.html", username=username, signed_in=signed_in), 401
        _clear_session()  # a fresh session on sign-in: nothing carried over from before
        session.update({"user_id": user.id, "auth_version": user.auth_version})
        session.permanent = True
        target = request.args.get("next", "")
        return redirect(local_target(target, url_for("home.index")))
    return render_template("auth/login.html", username="", signed_in=signed_in)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET asks (a link cannot sign anyone out: the form carries the CSRF token); POST signs the
    user out everywhere (hotline.accounts.sign_out)."""
    user = current_user()
    if request.method == "GET":
        return render_template("auth/logout.html", signed_in=user)
    if user is not None:
        users.sign_out(get_db(), user.id)
    _clear_session()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
