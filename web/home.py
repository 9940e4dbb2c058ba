"""The front page (by role, after sign-in; the public portal for a visitor not signed in) and the
public operations status (no personal data)."""
from flask import Blueprint, redirect, render_template, url_for

from hotline import calendar_changes
from runtime import jobs
from runtime import repository as definitions
from workdays import store as calendar_store

from . import get_db
from .auth import current_user

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    user = current_user()
    if user is None:  # a visitor: the public portal, whose header leads staff to sign in
        return redirect(url_for("portal.index"))
    return render_template("home.html", user=user)


@bp.get("/status")
def status():
    with get_db().read() as session:
        alerts = calendar_changes.alerts(session, calendar_store.build(session))
        return render_template("status.html", alerts=alerts, incidents=jobs.list_incidents(session),
                               pending=jobs.count_pending(session), deployments=definitions.list_deployments(session))
