"""One input guard for every page and API route, run before authentication and before any view:

- a request body larger than MAX_BODY_KB is refused with 413 before it is read (attachment
  uploads keep their own MAX_ATTACHMENT_MB); a chunked body without Content-Length is read
  here under the same limit;
- `<int:...>` path ids beyond the database's INTEGER (2**31 - 1) match no route (404), and a
  text path segment with NUL or a lone surrogate names nothing (404);
- query strings, form fields and JSON bodies refuse, with 400 and the field's name: NUL and
  lone surrogates in any text; ids (`*_id`, `unit`, `before`, ...) and JSON numbers beyond
  INTEGER; dates, months and years outside 1900–2100. `request.args.get(x, type=int)` gives
  the default for a number out of range, as for one that is no number.

Titles and names refuse control and bidi-override characters where they are validated
(hotline.texts.line_problems). Every response but a static file carries
`Cache-Control: no-store`: API answers and signed-in pages carry personal data.
"""
import re

from flask import Request, current_app, render_template, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from runtime.errors import InvalidInput

from .json_errors import error

MAX_ID = 2**31 - 1  # ids are INTEGER columns (PostgreSQL): a larger one names nothing
YEARS = (1900, 2100)
# routes that take a file: their limit is MAX_ATTACHMENT_MB, every other body's is MAX_BODY_KB
UPLOAD_ENDPOINTS = {"api.upload_attachment", "inbox.upload", "return_visits.record", "portal.submit"}
STATIC_ENDPOINTS = {"static", "modeler.dmn_js", "monitor.bpmn_js"}
# JSON bodies that carry a task form under a key: refused fields are named as in the form ("answer")
JSON_ENVELOPES = {"api.complete_task": "data"}

SURROGATE = re.compile("[\ud800-\udfff]")
# a whole value that is a date, a month or a date and time: 2024-05-01, 2024-05, 2024-05-01T08:00
DATE = re.compile(r"[+-]?(?P<year>\d{4,})-\d{1,2}(?:-\d{1,2}(?:[T ][0-9:.,+\-Z ]*)?)?", re.ASCII)
INT_FIELD = re.compile(r"(?:.*[._])?(?:id|ids)|unit|region|parent|before|to|instance|limit|year|page")
INTEGER = re.compile(r"[+-]?\d+", re.ASCII)


class BoundedInt(IntegerConverter):
    """`<int:...>` that matches only what an INTEGER column can hold."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class BoundedParams(ImmutableMultiDict):
    """Query and form values: `get(name, type=int)` treats a number beyond INTEGER like one
    that does not parse (the default)."""

    def get(self, key, default=None, type=None):
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and value is not default and abs(value) > MAX_ID:
            return default
        return value


class GuardedRequest(Request):
    parameter_storage_class = BoundedParams


def text_problem(value: str) -> str | None:
    """Why no column can hold `value` (NUL, a lone surrogate, a date outside 1900–2100), or None."""
    if not isinstance(value, str):
        return None  # a multipart part without a name
    if "\x00" in value:
        return "不能包含空字符 (NUL)"
    if SURROGATE.search(value):
        return "不能包含无效的 Unicode 字符（孤立代理项）"
    date = DATE.fullmatch(value.strip())
    if date and not YEARS[0] <= int(date["year"]) <= YEARS[1]:
        return f"日期须在 {YEARS[0]}–{YEARS[1]} 年之间"
    return None


def field_problem(name: str, value: str) -> str | None:
    """text_problem, and for an id or year field a number beyond INTEGER or outside 1900–2100."""
    problem = text_problem(value) or text_problem(name)
    if problem is None and isinstance(name, str) and INT_FIELD.fullmatch(name) and INTEGER.fullmatch(value.strip()):
        number = int(value)
        if name == "year" and not YEARS[0] <= number <= YEARS[1]:
            problem = f"年份须在 {YEARS[0]}–{YEARS[1]} 之间"
        elif abs(number) > MAX_ID:
            problem = f"数值超出范围（最大 {MAX_ID}）"
    return problem


def storable_problems(data) -> dict[str, list[str]]:
    """Messages per field path ("appellant.name") for what in a JSON value no column can hold:
    text_problem in any string or key, and numbers beyond INTEGER."""
    errors, stack = {}, [("", data)]
    while stack:
        path, value = stack.pop()
        problem = None
        if isinstance(value, dict):
            for key, item in value.items():
                key_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and text_problem(key):
                    errors.setdefault(path or "_schema", []).append(text_problem(key))
                stack.append((key_path, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value))
        elif isinstance(value, str):
            problem = text_problem(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_ID:
            problem = f"数值超出范围（最大 {MAX_ID}）"
        if problem:
            errors.setdefault(path or "_schema", []).append(problem)
    return errors


def _limit_body():
    """413 before anything reads a body larger than the route's limit."""
    upload = request.endpoint in UPLOAD_ENDPOINTS
    limit = (current_app.config["MAX_ATTACHMENT_MB"] + 1) << 20 if upload else current_app.config["MAX_BODY_KB"] << 10
    request.max_content_length = limit
    if request.content_length is not None:
        if request.content_length > limit:
            raise RequestEntityTooLarge()
    elif "wsgi.input_terminated" in request.environ and not upload and (  # chunked: read it now, at most
            len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1)):  # the limit
        raise RequestEntityTooLarge()  # something was left beyond it


def _check_input():
    if request.routing_exception is not None:
        return  # no such route or method: its 404 or 405 comes next
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and ("\x00" in value or SURROGATE.search(value)):
            raise NotFound()
    try:
        request.query_string.decode()
    except UnicodeDecodeError:  # werkzeug fails on request.args and full_path (the error page's too)
        request.query_string = b""
        raise BadRequest("查询字符串不是有效的 UTF-8") from None
    errors = {}
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for name, value in source.items(multi=True):
            problem = field_problem(name, value)
            if problem:
                errors.setdefault(name if not text_problem(name) else "_schema", []).append(problem)
    if request.is_json and request.content_length != 0:
        try:
            data = request.get_json(silent=True)
        except RecursionError:
            data = None  # too deep to parse: the view says the body is no JSON object
        envelope = JSON_ENVELOPES.get(request.endpoint)
        if envelope and isinstance(data, dict) and isinstance(data.get(envelope), dict):
            data = data[envelope]  # its fields are named as the form names them
        for path, messages in storable_problems(data).items():
            errors.setdefault(path, []).extend(messages)
    if errors:
        raise InvalidInput("submitted values cannot be stored", errors)


def _invalid_page(err: InvalidInput):
    """A page's refused input (the API blueprint maps InvalidInput to JSON itself): a readable 400."""
    if request.path.startswith("/api/"):
        return error(400, "invalid_input", str(err), err.fields, err.reason)
    fields = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in err.fields.items())
    return render_template("error.html", error=BadRequest(fields or str(err))), 400


def init_app(app):
    """Install the guard; call before anything else registers a before_request."""
    app.request_class = GuardedRequest
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_limit_body)
    app.before_request(_check_input)
    app.register_error_handler(InvalidInput, _invalid_page)

    @app.after_request
    def _no_store(response):
        if request.endpoint not in STATIC_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response
