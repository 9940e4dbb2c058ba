"""The front page (by role, after sign-in) and the public operations status (no personal data)."""
from flask import Blueprint, redirect, render_template, render_template_string, url_for

from hotline import calendar_changes
from runtime import jobs
from runtime import repository as definitions
from workdays import store as calendar_store

from . import get_db
from .auth import current_user

bp = Blueprint("home", __name__)

STATUS = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>运行状态 · 12345</title>
<body style="font-family:sans-serif;max-width:44em;margin:3em auto">
<h1>运行状态</h1>
<h2>工作日历</h2>
{% if alerts %}{% for a in alerts %}<p role="alert" style="background:#fff3cd;padding:.8em;border-left:4px solid #d39e00">
⚠ {{ a.message }}</p>{% endfor %}{% else %}<p>✓ 所有期限均按已发布的节假日安排计算。</p>{% endif %}
<h2>定时任务</h2>
<p>待触发 {{ pending }} 个；故障（需人工重试）{{ incidents|length }} 个。</p>
<h2>流程定义</h2><ul>{% for d in deployments %}<li>{{ d.process_key }} v{{ d.version }}（{{ d.deployed_at.strftime('%Y-%m-%d %H:%M') }} UTC）</li>{% endfor %}</ul>
</body></html>"""


@bp.get("/")
def index():
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    return render_template("home.html", user=user)


@bp.get("/status")
def status():
    with get_db().read() as session:
        alerts = calendar_changes.alerts(session, calendar_store.build(session))
        return render_template_string(STATUS, alerts=alerts, incidents=jobs.list_incidents(session),
                                      pending=jobs.count_pending(session),
                                      deployments=definitions.list_deployments(session))
