"""What the GeoReport v2 answers say in words, in the client's language (Accept-Language:
zh-CN by default, English on request): service names and descriptions, attributes, the
notice of the handling limit and the status notes in the appellant's words."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import open311, open311_queries
from hotline.appeals import INTAKE_FORM
from workdays.deadlines import working_days

from ..pages.appeal import option_label
from ..statuses import label as status_label

KEYWORDS = {"consultation": _l("咨询, 问询, 政策, 办事指南"), "complaint": _l("投诉, 举报, 反映问题"),
            "suggestion": _l("建议, 意见"), "help": _l("求助, 帮助, 困难")}
ATTRIBUTE_TEXTS = {  # code -> (description, datatype_description)
    "title": (_l("诉求标题，一句话概括；不填则取描述的第一行"), _l("不超过 100 个字")),
    "urgent": (_l("是否紧急事项：紧急事项立即派单并电话通知承办单位"), None),
    "convenience_list": (_l("是否属于便民服务清单事项（办理时限更短）"), None),
    "confidential": (_l("诉求人是否要求保密：承办单位看不到其姓名和电话"), None),
    "agrees_to_disclose": (_l("诉求人是否同意向承办单位公开身份"), None),
    "appellant_kind": (_l("诉求人类型，默认为公民"), None),
}
YES_NO = {"true": _l("是"), "false": _l("否")}


def service_name(code: str) -> str:
    return option_label(INTAKE_FORM, "appeal_type", code)


def limit_text(limit: str | None) -> str:
    """A limit of the time-limit table (workdays.deadlines) as people say it."""
    if days := working_days(limit):
        return _("派单后 %(n)s 个工作日内办结", n=days)
    if limit == "same_day":
        return _("当日办结")
    if limit and limit.startswith("PT"):
        hours = limit[2:].split("H")[0] if "H" in limit else "0"
        return _("派单后 %(n)s 小时内办结", n=hours)
    return ""


def service(code: str, limits: dict[str, str]) -> dict:
    """One entry of GET services."""
    parts = [limit_text(limits["normal"])]
    if limits["convenience"] != limits["normal"]:
        parts.append(_("纳入便民服务清单的%(limit)s", limit=limit_text(limits["convenience"])))
    parts.append(_("紧急事项%(limit)s", limit=limit_text(limits["urgent"])))
    return {"service_code": code, "service_name": service_name(code),
            "description": _("按 12345 热线办理规定：") + _("；").join(p for p in parts if p),
            "metadata": True, "type": open311.SERVICE_TYPE,
            "keywords": str(KEYWORDS.get(code, service_name(code))), "group": _("12345 政务服务便民热线")}


def definition(code: str) -> dict:
    """GET services/{code}: the attributes a caller may give."""
    attributes = []
    for attribute in open311.ATTRIBUTES:
        description, datatype_description = ATTRIBUTE_TEXTS[attribute.code]
        entry = {"variable": True, "code": attribute.code, "datatype": attribute.datatype, "required": False,
                 "datatype_description": str(datatype_description) if datatype_description else None,
                 "order": attribute.order, "description": str(description)}
        if attribute.datatype == "singlevaluelist":
            entry["values"] = [{"key": key, "name": str(YES_NO[key]) if key in YES_NO
                                else option_label(INTAKE_FORM, attribute.field, key)}
                               for key in open311.values_of(attribute)]
        attributes.append(entry)
    return {"service_code": code, "attributes": attributes}


def notice(receipt: open311.Receipt) -> str:
    """service_notice of a POST: what happens next and by when."""
    limit = limit_text(receipt.handling_limit)
    return _("诉求已提交 12345 热线，受理研判后派往承办单位办理") + (_("，%(limit)s", limit=limit) if limit else "") + _("。")


def status_notes(progress: open311_queries.Progress) -> str:
    """The last step the appellant would care about, in plain words."""
    unit = progress.unit or _("有关承办单位")
    kind = progress.kind
    if kind == "closed":
        closed = status_label(progress.status)
        if progress.satisfaction and progress.satisfaction != "no_evaluation":
            evaluation = option_label("return_visit.schema.json", "evaluation", progress.satisfaction)
            return _("%(status)s，评价：%(evaluation)s", status=closed, evaluation=evaluation)
        return closed
    return {
        "received": lambda: _("诉求已受理，正在研判"),
        "assessed": lambda: _("已受理，正在派往承办单位"),
        "dispatched": lambda: _("已派往%(unit)s办理", unit=unit),
        "signed_for": lambda: _("%(unit)s已签收，正在办理", unit=unit),
        "extended": lambda: _("%(unit)s正在办理，办理期限已延长 %(days)s 个工作日", unit=unit, days=progress.days),
        "returned": lambda: _("承办单位退回，正在重新确定承办单位"),
        "replied": lambda: _("%(unit)s已答复，等待回访评价", unit=unit),
        "rehandled": lambda: _("正在重新办理"),
        "evaluated": lambda: _("已收到评价，正在办结"),
    }[kind]()
