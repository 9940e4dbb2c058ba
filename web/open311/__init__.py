"""Open311 GeoReport v2 at /open311/v2/ (issue 15; hotline.open311 is the mapping): discovery,
services, service definitions, POST and GET requests, tokens. The format is the resource's
extension (`.json`, `.xml`); the language the client's Accept-Language (zh-CN unless it prefers
English). Every error is the specification's array of {code, description}, in the format
asked for: 403 for a missing or wrong api_key, 404 for what does not exist, 400 for anything
else the request gets wrong (409 for an Idempotency-Key reused with another request)."""
from functools import wraps

from flask import Blueprint, request
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from hotline import open311
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessError

from .formats import respond

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMAT = "<any(json, xml):fmt>"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def localized(view):
    """Run a view or an error handler in the language the client prefers (zh-CN or English)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        chosen = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
        with force_locale("en" if chosen == "en" else "zh_Hans_CN"):
            return view(*args, **kwargs)
    return wrapper


def errors(status: int, descriptions: list[str], headers=None):
    """The specification's error answer, in the format the path asks for (XML by default)."""
    fmt = (request.view_args or {}).get("fmt") or ("json" if request.path.endswith(".json") else "xml")
    return respond(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status, headers)


@bp.errorhandler(InvalidInput)
@localized
def _invalid(err):
    fields = err.fields or {}
    return errors(400, [f"{name}: {' '.join(_(m) for m in messages)}" for name, messages in fields.items()]
                  or [str(err)])


@bp.errorhandler(Forbidden)
@localized
def _forbidden(err):
    if err.reason == "api_key_missing":
        return errors(403, [_("缺少 api_key：请向 12345 平台系统管理员申请")])
    return errors(403, [_("api_key 无效或已吊销，不能提交诉求")])


@bp.errorhandler(NotFound)
@localized
def _not_found(err):
    return errors(404, [{open311.UNKNOWN_SERVICE: _("没有这个服务（service_code），可用的服务见 GET services"),
                         open311.UNKNOWN_REQUEST: _("没有这个诉求编号（service_request_id）"),
                         open311.UNKNOWN_TOKEN: _("没有这个 token")}.get(err.reason, str(err))])


@bp.errorhandler(Conflict)
@localized
def _conflict(err):
    return errors(409, [_("这个 Idempotency-Key 已用于另一个请求") if err.reason == "idempotency_key_reused"
                        else str(err)])


@bp.errorhandler(ProcessError)
@localized
def _process(err):
    return errors(400, [_("服务暂时无法处理该请求，请稍后再试或联系平台系统管理员")])


@bp.errorhandler(HTTPException)
def _http(err):
    return http_error(err)


@localized
def http_error(err: HTTPException):
    """Any HTTP error under /open311/ (an unknown path or method too: web.create_app sends them here)."""
    description = {404: _("没有这个资源：请检查地址，格式后缀为 .json 或 .xml"), 405: _("该资源不支持这个请求方法"),
                   413: _("请求体过大")}.get(err.code, err.description or err.name)
    return errors(err.code or 400, [description], [(k, v) for k, v in err.get_headers() if k == "Allow"])


from . import service_requests, services  # noqa: F401  (routes register on import)
