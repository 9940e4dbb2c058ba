"""Public pages: the front page and the operations status (no personal data on either)."""
from flask import Blueprint, render_template_string

from engine import calendar_store, definitions, jobs

from . import get_db

bp = Blueprint("home", __name__)

PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>12345 政务服务便民热线</title>
<body style="font-family:sans-serif;max-width:44em;margin:3em auto">
<h1>12345 政务服务便民热线 · 诉求办理平台</h1>
<p>诉求受理、派单、签收、办理、审核、答复、回访核实与办结归档，按《12345平台管理办法》流程运行。</p>
<ul><li>接口文档（OpenAPI）：<a href="/api/v1/openapi.json">/api/v1/openapi.json</a></li>
<li>登录获取令牌：<code>POST /api/v1/auth/token</code></li><li>运行状态：<a href="/status">/status</a></li></ul>
<p lang="en">Hotline 12345 appeal handling platform. JSON API under /api/v1.</p></body></html>"""

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
    return render_template_string(PAGE)


@bp.get("/status")
def status():
    with get_db().read() as session:
        alerts = calendar_store.alerts(session, calendar_store.build(session))
        return render_template_string(STATUS, alerts=alerts, incidents=jobs.list_incidents(session),
                                      pending=jobs.count_pending(session),
                                      deployments=definitions.list_deployments(session))
