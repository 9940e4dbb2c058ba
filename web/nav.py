"""The main menu: each entry names its page (endpoint) and who sees it. Entries whose page is
not registered are left out, so a feature's menu item appears with its blueprint."""
from flask import request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from hotline.access import can

from .auth import current_user

MENU = [  # endpoint, label, the capability that opens it (hotline.access; None: anyone signed in; a tuple: all of them)
    ("inbox.index", _l("我的待办"), "work_tasks"),
    ("intake.index", _l("受理台"), "register_appeals"),
    ("knowledge.index", _l("知识库"), "read_knowledge"),
    ("monitor.overview", _l("运行监控"), "monitor"),
    ("monitor.instances", _l("诉求实例"), "monitor"),
    ("monitor.processes", _l("流程定义"), "read_definitions"),
    ("home.status", _l("运行状态"), "operate_instances"),
    ("admin.users", _l("用户管理"), "administer"),
    ("admin.units", _l("承办单位"), "administer"),
    ("admin.centres_list", _l("热线中心"), "administer"),
    ("admin.calendar", _l("工作日历"), "read_calendar"),
    ("open311_admin.index", _l("Open311 接口"), "administer"),
    ("return_visits.index", _l("回访核查"), "return_visits"),
    ("supervision.index", _l("督办"), "read_supervision"),
    ("contact_requests.index", _l("联系方式申请"), "grant_contact"),
    ("evaluation.index", _l("考核评价"), "read_evaluation"),
    ("publication.index", _l("考核结果发布"), ("read_evaluation", "read_published_evaluation")),
    ("observe.index", _l("考核结果公开"), "read_published_evaluation"),
    ("migration.index", _l("版本迁移"), "migrate_instances"),
    ("modeler.index", _l("流程建模"), "model"),
]


GROUPS = {  # a long menu keeps one line: these pages go under one heading each (a dropdown)
    "processes": (_l("流程管理"), ("monitor.overview", "monitor.instances", "monitor.processes", "home.status",
                                  "migration.index", "modeler.index")),
    "administration": (_l("系统管理"), ("admin.users", "admin.units", "admin.centres_list", "admin.calendar",
                                    "open311_admin.index")),
    "supervision": (_l("督办考核"), ("return_visits.index", "supervision.index", "evaluation.index",
                                   "publication.index", "observe.index")),
}
FLAT_UP_TO = 6  # entries a menu shows side by side before it groups them


def init_app(app):
    @app.context_processor
    def _menu():
        return {"nav_items": lambda: items(app), "nav_menu": lambda: menu(app), "current_user": current_user,
                "get_locale": get_locale}


def items(app) -> list[dict]:
    user = current_user()
    if user is None:
        return []
    result = []
    for endpoint, label, capability in MENU:
        needed = capability if isinstance(capability, tuple) else (capability,) if capability else ()
        if endpoint in app.view_functions and all(can(user, c) for c in needed):
            url = url_for(endpoint)
            result.append({"url": url, "label": label, "active": request.path.startswith(url) and url != "/"})
    return result


def menu(app) -> list[dict]:
    """The menu bar: the user's entries side by side, or, when they are more than FLAT_UP_TO,
    grouped: {"label", "children": [entries], "active"} for a group of two or more."""
    entries = items(app)
    if len(entries) <= FLAT_UP_TO:
        return entries
    group_of = {url_for(endpoint): key for key, (_label, endpoints) in GROUPS.items() for endpoint in endpoints
                if endpoint in app.view_functions}
    members: dict[str, list[dict]] = {}
    for entry in entries:
        if entry["url"] in group_of:
            members.setdefault(group_of[entry["url"]], []).append(entry)
    result, placed = [], set()
    for entry in entries:
        key = group_of.get(entry["url"])
        if key is None or len(members[key]) < 2:
            result.append(entry)
        elif key not in placed:
            placed.add(key)
            result.append({"label": GROUPS[key][0], "children": members[key],
                           "active": any(e["active"] for e in members[key])})
    return result
