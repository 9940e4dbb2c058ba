"""People's names as pages show them. A display name is data ("林晓"), but by the platform's
custom it carries the person's role or post as a word of its own ("受理员 林晓", "鼓楼区城市管理局
承办人"). In English that word is shown in English and the rest, the person's or the unit's
name, stays as written, marked as data (class="data"). `person` is a template filter."""
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from .form_render import english

ROLE_WORDS = {  # the roles and posts names are written with (hotline.access roles, the units' posts)
    "受理员": _l("受理员"), "派单员": _l("派单员"), "回访员": _l("回访员"), "督办员": _l("督办员"),
    "流程负责人": _l("流程负责人"), "业务分析员": _l("业务分析员"), "系统管理员": _l("系统管理员"),
    "承办人": _l("承办人"), "负责人": _l("负责人"), "承办单位负责人": _l("承办单位负责人"),
}


ROLES = {  # hotline.access roles
    "intake_agent": _l("受理员"), "dispatcher": _l("派单员"), "organizer_staff": _l("承办人"),
    "organizer_leader": _l("承办单位负责人"), "return_visit_staff": _l("回访员"), "supervisor": _l("督办员"),
    "process_owner": _l("流程负责人"), "analyst": _l("业务分析员"), "admin": _l("系统管理员"),
}


def role_labels(roles: str | None) -> str:
    """"organizer_staff,organizer_leader" -> "承办人、承办单位负责人" (a task's candidate roles)."""
    return (", " if english() else "、").join(str(ROLES.get(r, r)) for r in (roles or "").split(",") if r)


def person(name) -> Markup:
    """The name with its role word in the reader's language, the rest marked as data."""
    if not name:
        return Markup("")
    words = str(name).split(" ")
    if not english():
        return Markup("{}").format(name)
    parts = []
    for word in words:
        role = ROLE_WORDS.get(word)
        parts.append(escape(str(role)) if role is not None
                     else Markup('<span class="data">{}</span>').format(word) if word else Markup(""))
    return Markup(" ").join(parts)


def init_app(app):
    app.add_template_filter(person, "person")
    app.add_template_global(role_labels, "roles_text")
