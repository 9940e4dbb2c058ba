"""An instance's variables as the monitor shows them: each under a label, the one its form
field has (in the reader's language) or else this module's, and its value in words: yes or
no, "—" for none, times in Asia/Shanghai, limits in working days or hours, a form option by
its label, units and people by name, the deadlines one stage a line. The variable's own name is
kept in a tooltip for whoever reads the diagram's scripts; a variable no one labelled yet shows
that name, marked as such (tests/browser/test_english_everywhere.py finds it)."""
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline.stages import LABELS as STAGE_LABELS
from runtime import forms
from workdays.calendar import TZ

from . import form_render

INTAKE_FORM = "register_appeal.schema.json"  # its labels come first: the appeal as registered
VARIABLES = {  # what no form asks for: the intake's, the diagram scripts', the decision table's
    "appeal_id": _l("诉求 ID"), "number": _l("诉求编号"), "main_appeal_id": _l("主单 ID"),
    "deadlines": _l("各环节期限"), "dispatch_limit": _l("派单时限"), "sign_for_limit": _l("签收时限"),
    "first_contact_limit": _l("首次联系时限"), "handling_limit": _l("办理时限"),
    "co_feedback_limit": _l("协办反馈时限"), "supervision_limit": _l("超期督办时限（办理期限后）"),
    "max_returns": _l("退回次数上限"), "max_rehandles": _l("重办次数上限"), "return_count": _l("退回次数"),
    "rehandle_count": _l("重办次数"), "handling_started": _l("已开始办理"), "extension_check": _l("延期申请检查"),
    "allowed": _l("可以申请"), "service_result": _l("服务调用结果"), "evaluation_due": _l("评价截止时间"),
    "item_id": _l("督办事项编号"), "unit_id": _l("单位"), "rectification_due_at": _l("整改期限"),
    "escalation": _l("督办升级"), "level": _l("级别"), "due_at": _l("期限"), "approved": _l("已批准"),
    "consented": _l("已同意"), "days": _l("天数"), "stage": _l("环节"), "note": _l("说明"), "reason": _l("原因"),
    "centre_id": _l("所属热线中心（编号）"), "transfer_centre_id": _l("接收上报的中心（编号）"),
    "sub_sign_for_limit": _l("二级签收时限"), "sub_handling_limit": _l("二级办理答复时限"),
    "sub_outcome": _l("二级派单结果"),
}
UNIT_KEYS = ("unit_id",)  # unit ids outside any form's unit picker
LEVELS = {"notice": _l("督办通知"), "rectification_notice": _l("整改通知书"), "interview_reminder": _l("约谈提醒")}
WORKING_DAYS = re.compile(r"^(\d+)wd$")
HOURS = re.compile(r"^PT(\d+)H$")


@dataclass
class Row:
    key: str
    label: str
    value: str = ""
    data: bool = False  # the value as people wrote it (names, free text), not a word of the platform's
    labelled: bool = True
    lines: list["Row"] = field(default_factory=list)  # a variable holding several values


def rows(data: dict, bundle: dict, unit_names: dict, people: dict) -> list[Row]:
    """The variables, labelled, in label order; `bundle` is the instance's deployed forms."""
    fields = _form_fields(bundle)
    found = [_row(key, value, fields, unit_names, people) for key, value in data.items()]
    return sorted(found, key=lambda r: (not r.labelled, r.label))


def _form_fields(bundle: dict) -> dict[str, form_render.Field]:
    names = sorted({k.removeprefix(forms.BUNDLE_PREFIX) for k in bundle if k.endswith(".schema.json")},
                   key=lambda n: (n != INTAKE_FORM, n))
    found: dict[str, form_render.Field] = {}
    for name in names:
        schema, ui = forms.load(name, bundle)
        for f in form_render.flatten(form_render.build(schema, ui)[0]):
            found.setdefault(f.name, f)
    return found


def _row(key, value, fields, unit_names, people) -> Row:
    f = fields.get(key)
    label = f.label if f else VARIABLES.get(key)
    row = Row(key, str(label) if label else key, labelled=label is not None)
    if key == "deadlines" and isinstance(value, dict):
        row.lines = _deadlines(value)
    elif isinstance(value, dict):  # its keys are the diagram's words, not a form's fields
        for k, v in value.items():
            if k.endswith("_en"):
                continue  # a text's English, shown in its place in English
            if form_render.english() and f"{k}_en" in value:
                v = value[f"{k}_en"]
            row.lines.append(_row(k, v, {}, unit_names, people))
    else:
        row.value, row.data = _value(key, value, f, unit_names, people)
    return row


def _value(key, value, f, unit_names, people) -> tuple[str, bool]:
    """(the value in words, whether it is data)."""
    if value is None or value == "" or value == []:
        return "—", False
    widget = f.widget if f else ("unit" if key in UNIT_KEYS else None)
    if widget in ("unit", "units"):
        return "、".join(unit_names.get(i, f"#{i}") for i in (value if isinstance(value, list) else [value])), True
    if widget == "member":
        return people.get(value, f"#{value}"), True
    if isinstance(value, bool):
        options = dict(f.options) if f and f.options else {}
        return options.get(form_render.as_text(value)) or (_("是") if value else _("否")), False
    if f and f.options and not isinstance(value, list):
        label = dict(f.options).get(str(value))
        if label is not None:
            return label, False
    if key == "level" and value in LEVELS:
        return str(LEVELS[value]), False
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return "、".join(map(str, value)), True
    return str(value), False


def _text(value: str) -> tuple[str, bool]:
    if m := WORKING_DAYS.match(value):
        return _("%(n)s 个工作日", n=m.group(1)), False
    if m := HOURS.match(value):
        return _("%(n)s 小时", n=m.group(1)), False
    if value == "same_day":
        return _("当天"), False
    if value == "none":
        return _("不限"), False
    return (time, False) if (time := _time(value)) else (value, True)


def _time(value) -> str:
    try:
        return datetime.fromisoformat(value).astimezone(TZ).strftime("%Y-%m-%d %H:%M") if value else ""
    except (TypeError, ValueError):
        return ""


def _deadlines(value: dict) -> list[Row]:
    """One line a stage: its deadline, reminder, and what it was counted from."""
    basis, provisional = value.get("basis") or {}, set(value.get("provisional") or [])
    lines = []
    for stage, label in STAGE_LABELS.items():
        if not value.get(stage):
            continue
        parts = [_("期限 %(at)s", at=_time(value[stage]))]
        if value.get(f"{stage}_warning"):
            parts.append(_("提醒 %(at)s", at=_time(value[f"{stage}_warning"])))
        if stage in basis:
            start, limit = basis[stage]
            parts.append(_("自 %(start)s 起 %(limit)s", start=_time(start), limit=_text(limit or "none")[0]))
        if stage in provisional:
            parts.append(_("暂定"))
        lines.append(Row(stage, _(f"{label}期限"), " · ".join(parts)))  # noqa: INT001 -- each 派单期限, 签收期限, … is in the catalog
    return lines
