"""The front page: what runs here and where the API is."""
from flask import Blueprint, render_template_string

bp = Blueprint("home", __name__)

PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>12345 政务服务便民热线</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>12345 政务服务便民热线 · 诉求办理平台</h1>
<p>诉求受理、派单、签收、办理、审核、答复、回访核实与办结归档，按《12345平台管理办法》流程运行。</p>
<ul><li>接口文档（OpenAPI）：<a href="/api/v1/openapi.json">/api/v1/openapi.json</a></li>
<li>登录获取令牌：<code>POST /api/v1/auth/token</code></li><li>运行状态：<a href="/api/v1/health">/api/v1/health</a></li></ul>
<p lang="en">Hotline 12345 appeal handling platform. JSON API under /api/v1.</p></body></html>"""


@bp.get("/")
def index():
    return render_template_string(PAGE)
