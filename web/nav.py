"""The main menu: each entry names its page (endpoint) and who sees it. Entries whose page is
not registered are left out, so a feature's menu item appears with its blueprint."""
from flask import request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .auth import current_user

TASK_ROLES = ("intake_agent", "dispatcher", "organizer_staff", "organizer_leader", "return_visit_staff",
              "supervisor")
MENU = [
    ("inbox.index", _l("我的待办"), TASK_ROLES),
    ("intake.index", _l("受理台"), ("intake_agent", "dispatcher")),
    ("knowledge.index", _l("知识库"), None),
    ("monitor.overview", _l("运行监控"), ("process_owner", "supervisor")),
    ("monitor.instances", _l("诉求实例"), ("process_owner", "supervisor")),
    ("monitor.processes", _l("流程定义"), ("process_owner", "analyst")),
    ("home.status", _l("运行状态"), ("process_owner",)),
    ("admin.users", _l("用户管理"), ("admin",)),
    ("admin.units", _l("承办单位"), ("admin",)),
    ("admin.calendar", _l("工作日历"), ("process_owner", "supervisor")),
    ("revisits.index", _l("回访核查"), ("return_visit_staff", "supervisor")),
    ("supervision.index", _l("督办"), ("supervisor", "process_owner", "organizer_leader", "organizer_staff")),
    ("evaluation.index", _l("考核评价"), ("process_owner", "supervisor", "organizer_leader")),
    ("migration.index", _l("版本迁移"), ("process_owner",)),
    ("modeler.index", _l("流程建模"), ("analyst", "process_owner")),
]


def init_app(app):
    @app.context_processor
    def _menu():
        return {"nav_items": lambda: items(app), "current_user": current_user, "get_locale": get_locale}


def items(app) -> list[dict]:
    user = current_user()
    if user is None:
        return []
    result = []
    for endpoint, label, roles in MENU:
        if endpoint in app.view_functions and (roles is None or user.role in roles or user.role == "admin"):
            url = url_for(endpoint)
            result.append({"url": url, "label": label, "active": request.path.startswith(url) and url != "/"})
    return result
