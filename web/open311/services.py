"""Discovery, the service list and service definitions: the intake form's appeal types, their
handling limits from the deployed time-limit table, the attributes a caller may give."""
from flask import request
from flask_babel import gettext as _

from hotline import open311
from runtime.errors import NotFound

from .. import get_db
from . import FORMAT, SPECIFICATION, bp, localized, texts
from .formats import MIMETYPES, respond


@bp.get(f"/discovery.{FORMAT}")
@localized
def discovery(fmt):
    with get_db().read() as session:
        changed = open311.local(open311.changeset(session))
    return respond(fmt, "discovery", {
        "changeset": changed,
        "contact": _("12345 政务服务便民热线平台，接入问题请联系平台系统管理员"),
        "key_service": _("API 密钥由平台系统管理员签发：系统管理 → Open311 客户端系统，"
                         "或命令 hotline open311 key create 名称"),
        "endpoints": [{"specification": SPECIFICATION, "url": request.url_root.rstrip("/") + bp.url_prefix,
                       "changeset": changed, "type": "production",
                       "formats": [m.split(";")[0] for m in MIMETYPES.values()]}]})


@bp.get(f"/services.{FORMAT}")
@localized
def services(fmt):
    with get_db().read() as session:
        found = [texts.service(code, limits) for code, limits in open311.limits(session).items()]
    return respond(fmt, "services", found)


@bp.get(f"/services/<code>.{FORMAT}")
@localized
def service_definition(code, fmt):
    if code not in open311.service_codes():
        raise NotFound(f"service_code {code} was not found", open311.UNKNOWN_SERVICE)
    return respond(fmt, "service_definition", texts.definition(code))
