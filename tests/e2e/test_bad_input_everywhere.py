"""Every page and API route of the app (read from app.url_map, never listed by hand), with every
method, as a signed-in administrator and a signed-in organizer, fed what no column can hold:
ids beyond INTEGER in the path, NUL and lone surrogates (percent-encoded and raw) in path
segments, query strings, form fields and JSON bodies, numbers beyond INTEGER and dates and years
outside 1900–2100. The answer may be anything but a server error (web/guard.py refuses most of it
with 400 or 404 before a view runs). The field names sent are the identifiers the route's module
and the forms spell, so each view sees the names it reads.

Also: bodies beyond MAX_BODY_KB are 413 before sign-in (with Content-Length and chunked), except
attachment uploads; `Cache-Control: no-store` on API answers and pages; titles and names refuse
control and bidi-override characters."""
import io
import json
import re
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter

from hotline import demo
from runtime.models import UserTask
from web import guard

from ..conftest import intake_data

FORMS = Path(__file__).parents[2] / "forms"
RAW_SURROGATE = "\xed\xa0\x80"  # the UTF-8 bytes of U+D800 as a WSGI server passes them (latin-1)
BAD_INTS = ["2147483648", "99999999999999999999"]
BAD_SEGMENTS = ["%00", "x%00y", "%ED%A0%80", RAW_SURROGATE]
# per kind: (value in a query string or form, value in JSON)
BAD_VALUES = {
    "nul": ("a\x00b", "a\x00b"),
    "surrogate_encoded": ("%ED%A0%80", "\ud800"),
    "surrogate_raw": (RAW_SURROGATE, "x\udfffy"),
    "huge_int": ("2147483648", 2**31),
    "huge_negative": ("-99999999999999999999", -10**20),
    "date_low": ("0001-01-01", "0001-01-01"),
    "date_high": ("9999-12-31T23:59", "9999-12-31"),
    "month_low": ("1899-12", "1899-12"),
    "year": ("99999", "99999"),
}
SIGNED_IN = {"admin": "admin", "organizer": "gl_urban_staff"}
SKIP_SIGNED_IN = {"auth.logout"}  # signs the user out everywhere: tried anonymously below


# --- what to send --------------------------------------------------------------------------

def _schema_fields():
    names = set()
    for path in FORMS.glob("*.schema.json"):
        stack = [("", json.loads(path.read_text(encoding="utf-8")))]
        while stack:
            prefix, schema = stack.pop()
            for name, prop in (schema.get("properties") or {}).items():
                names.add(prefix + name)
                if isinstance(prop, dict) and prop.get("properties"):
                    stack.append((f"{prefix}{name}.", prop))
    return names


SCHEMA_FIELDS = _schema_fields()
IDENTIFIER = re.compile(r"""["']([a-z][a-z0-9_]{0,40}(?:\.[a-z_]+)?)["']""")


def field_names(app, endpoint):
    """The identifiers the view's module spells (its query and form field names among them),
    with every form's fields; the API's also with its schemas' fields."""
    module = sys.modules[app.view_functions[endpoint].__module__]
    source = Path(module.__file__).read_text(encoding="utf-8")
    if endpoint.startswith("api."):
        source += (Path(module.__file__).parent / "schemas.py").read_text(encoding="utf-8")
    return sorted(set(IDENTIFIER.findall(source)) | SCHEMA_FIELDS)


def _converters(rule):
    return [(name, conv) for name, conv in rule._converters.items()]


def path_variants(rule, good):
    """(label, path) with each parameter bad, the others good; and the all-good path."""
    def fill(values):
        return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", lambda m: values[m.group(1)], rule.rule)
    converters = _converters(rule)
    variants = [("good", fill(good))]
    for name, conv in converters:
        if isinstance(conv, AnyConverter):
            continue
        bad = BAD_INTS if isinstance(conv, IntegerConverter) else BAD_SEGMENTS
        variants += [(f"{name}={value!r}", fill({**good, name: value})) for value in bad]
    return variants


def good_values(rule, world):
    values = {}
    for name, conv in _converters(rule):
        if isinstance(conv, AnyConverter):
            values[name] = re.search(rf"<any\(([^,)]+)[^>]*:{name}>", rule.rule).group(1).strip()
        elif isinstance(conv, IntegerConverter):
            values[name] = str(world.get(name, 1))
        elif name == "name":
            values[name] = "register_appeal.schema.json" if "forms" in rule.rule else "appeal_handling.bpmn"
        else:
            values[name] = str(world.get(name, "x"))
    return values


def encode_pairs(pairs):
    """A query string or urlencoded body: raw surrogate bytes and %-escapes go through as they are."""
    def enc(text):
        return text if text == RAW_SURROGATE or text.startswith("%ED") else quote(text, safe="")
    return "&".join(f"{quote(n, safe='')}={enc(v)}" for n, v in pairs)


def requests_for(app, rule, method, world):
    """(label, kwargs for client.open) for one route and method."""
    good = good_values(rule, world)
    out = []
    for label, path in path_variants(rule, good):
        if label != "good":
            out.append((f"path {label}", _open(path, method)))
    path = path_variants(rule, good)[0][1]
    names = field_names(app, rule.endpoint)
    api = rule.rule.startswith("/api/")
    for kind, (text, json_value) in BAD_VALUES.items():
        everything = [(n, text) for n in names]
        # what the guard lets through reaches the view: numbers in non-id fields, and the like
        passing = [(n, v) for n, v in everything if guard.field_problem(n, v.replace("%ED%A0%80", "")) is None
                   and RAW_SURROGATE not in v and "%ED" not in v]
        for label, pairs in (("all", everything), ("passing", passing)):
            if not pairs:
                continue
            query = encode_pairs(pairs)
            if method == "GET":
                out.append((f"{kind} {label} query", _open(path, method, query)))
            elif api:
                body = {n: json_value for n in names} if label == "all" else {n: v for n, v in pairs}
                body["data"] = dict(body)
                out.append((f"{kind} {label} json", _open(path, method, query, json.dumps(body).encode(),
                                                          "application/json")))
            else:
                form = query.encode("latin-1") if RAW_SURROGATE in query else query.encode()
                out.append((f"{kind} {label} form", _open(path, method, query, form,
                                                          "application/x-www-form-urlencoded")))
                if label == "all" and kind in ("nul", "surrogate_encoded", "date_low"):
                    body = {n: json_value for n in names}
                    out.append((f"{kind} json", _open(path, method, "", json.dumps(body).encode(),
                                                      "application/json")))
    return out


def _open(path, method, query="", body=None, content_type=None):
    """client.open kwargs; the path and query go in raw (PATH_INFO / QUERY_STRING as a server
    gives them), so raw surrogate bytes and %-escapes arrive unchanged."""
    from urllib.parse import unquote_to_bytes
    raw_path = unquote_to_bytes(path).decode("latin-1") if RAW_SURROGATE not in path else path
    kwargs = {"method": method, "environ_overrides": {"PATH_INFO": raw_path, "QUERY_STRING": query}}
    if body is not None:
        kwargs.update(data=body, content_type=content_type)
    return kwargs


# --- driving -------------------------------------------------------------------------------

def all_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.fixture(scope="module")
def world(app):
    """Good ids for the parts of a path that are not under test: real rows (user_id is intake1,
    so no request can sign out the users driving the test)."""
    from hotline.models import User
    from web import get_db
    with get_db(app).read() as session:
        task = session.scalar(select(UserTask.id).where(UserTask.state == "open").limit(1))
        intake1 = session.scalar(select(User.id).where(User.username == "intake1"))
    return {"task_id": task or str(uuid.uuid4()), "user_id": intake1, "token": "no-such-token", "code": "en",
            "filename": "x.js"}


class Driver:
    """Sends requests as one signed-in user (pages: a session cookie; API: a bearer token),
    signing in again for every route, since a route may end the user's sessions."""

    def __init__(self, app, username):
        self.app, self.username = app, username
        self.failures = []
        self.count = 0

    def sign_in(self):
        self.client = self.app.test_client()
        if self.username is None:
            self.headers = {}
            return
        resp = self.client.post("/login", data={"username": self.username, "password": demo.DEMO_PASSWORD})
        assert resp.status_code == 302, resp.status_code
        token = self.client.post("/api/v1/auth/token",
                                 json={"username": self.username, "password": demo.DEMO_PASSWORD})
        assert token.status_code == 201, token.get_json()
        self.headers = {"Authorization": f"Bearer {token.get_json()['token']}"}

    def send(self, rule, method, label, kwargs):
        self.count += 1
        headers = self.headers if rule.rule.startswith("/api/") else {}
        try:
            resp = self.client.open(headers=headers, **kwargs)
            status = resp.status_code
            resp.close()
        except Exception as err:  # noqa: BLE001 (TESTING propagates the view's exception: that is a 500)
            status = f"raised {type(err).__name__}: {str(err)[:200]}"
        if not isinstance(status, int) or status >= 500:
            self.failures.append(f"{method} {rule.rule} [{label}] -> {status}")

    def drive(self, routes, world):
        for rule, method in routes:
            self.sign_in()
            for label, kwargs in requests_for(self.app, rule, method, world):
                self.send(rule, method, label, kwargs)


@pytest.mark.parametrize("role", sorted(SIGNED_IN))
@pytest.mark.parametrize("part", ["pages", "api"])
def test_no_route_answers_bad_input_with_a_server_error(app, world, role, part):
    routes = [(rule, method) for rule, method in all_routes(app)
              if rule.rule.startswith("/api/") == (part == "api") and rule.endpoint not in SKIP_SIGNED_IN]
    assert len(routes) >= (25 if part == "api" else 80), routes  # the URL map scan found the app
    driver = Driver(app, SIGNED_IN[role])
    driver.drive(routes, world)
    assert driver.count > 10 * len(routes)
    assert not driver.failures, "\n".join(driver.failures)


def test_signing_in_and_out_answer_bad_input_without_a_server_error(app, world):
    routes = [(rule, method) for rule, method in all_routes(app) if rule.endpoint.startswith("auth.")]
    driver = Driver(app, None)
    driver.drive(routes, world)
    assert not driver.failures, "\n".join(driver.failures)


# --- the guard's answers --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"/api/v1/appeals/{2**31}", f"/api/v1/appeals/{10**30}",
                                  "/api/v1/tasks/%00", "/api/v1/tasks/%ED%A0%80", "/api/v1/forms/x%00.json"])
def test_impossible_ids_in_api_paths_are_404_in_json(api, path):
    resp = api.client.get(path, headers=api.as_("admin").headers)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", [f"/appeals/{2**31}", f"/admin/users/{10**30}", "/tasks/%00",
                                  "/tasks/%ED%A0%80", "/modeler/x%00.bpmn"])
def test_impossible_ids_in_page_paths_are_a_404_page(browser_as, path):
    resp = browser_as("admin").get(path)
    assert resp.status_code == 404 and resp.mimetype == "text/html"


@pytest.mark.parametrize("query, field", [
    (f"before_id={2**31}", "before_id"), ("limit=a%00", "limit"), ("status=%ED%A0%80x", "status")])
def test_bad_query_values_are_400_naming_the_field(api, query, field):
    # %ED%A0%80 decodes to U+FFFD: harmless text, the status check names it unknown
    resp = api.as_("admin").get(f"/appeals?{query}")
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize("body, field", [
    ({"day": "0001-01-01", "working": True, "name": "x"}, "day"),
    ({"day": "2100-12-32", "working": True, "name": "x"}, "day"),
    ({"day": "2024-10-01", "working": True, "name": "台风\ud800"}, "name"),
    ({"day": "2024-10-01", "working": True, "name": "台风\x00"}, "name"),
])
def test_calendar_days_outside_1900_2100_or_unstorable_names_are_400(api, body, field):
    resp = api.as_("admin").post("/calendar/days", data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 400, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize("data", [{"month": "0001-01"}, {"year": "99999"}, {"unit": str(2**40)}])
def test_pages_refuse_out_of_range_values_with_a_readable_400(browser_as, data):
    resp = browser_as("admin").get("/admin/calendar", query_string=data)
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert "1900" in resp.get_data(as_text=True) or "2147483647" in resp.get_data(as_text=True)


def test_a_nul_in_a_page_form_is_a_readable_400_and_creates_nothing(browser_as, api):
    before = api.as_("supervisor1").get("/appeals?limit=1").get_json()["items"]
    form = {**{k: v for k, v in intake_data().items() if k != "appellant"}, "title": "噪音\x00",
            "appellant.kind": "citizen", "appellant.phone": "13800001234"}
    resp = browser_as("intake1").post("/intake", data=form)
    assert resp.status_code == 400 and "NUL" in resp.get_data(as_text=True)
    assert api.as_("supervisor1").get("/appeals?limit=1").get_json()["items"] == before


# --- titles and names ---------------------------------------------------------------------------

UNSAFE = ["噪音\u202e扰民", "噪音\u2066扰民", "噪音\x07扰民", "噪音\n扰民", "噪音\x85扰民"]


@pytest.mark.parametrize("title", UNSAFE)
def test_an_appeal_title_with_control_or_bidi_characters_is_refused(api, title):
    resp = api.as_("intake1").post("/appeals", json=intake_data(title=title))
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["fields"]["title"] == ["不能包含控制字符或文字方向控制字符"]
    named = intake_data(appellant={"kind": "citizen", "name": "张\u202e三", "phone": "13800001234"})
    assert "appellant.name" in api.as_("intake1").post("/appeals", json=named).get_json()["error"]["fields"]


def test_the_intake_form_refuses_what_hotline_texts_refuses():
    from hotline import texts
    schema = json.loads((FORMS / "register_appeal.schema.json").read_text(encoding="utf-8"))
    for field in (schema["properties"]["title"], schema["properties"]["appellant"]["properties"]["name"]):
        assert field["pattern"] == texts.LINE_PATTERN and field["x-message"] == texts.UNSAFE_MESSAGE
    for text in UNSAFE:
        assert re.search(texts.LINE_PATTERN, text) is None and texts.line_problems(text)


def test_ordinary_titles_with_punctuation_are_still_accepted(api):
    resp = api.as_("intake1").post("/appeals", json=intake_data(title="「噪音」扰民！(22:00 后) — 第2次"))
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("name", UNSAFE)
def test_user_display_names_and_unit_names_refuse_control_and_bidi_characters(browser_as, name, db):
    from hotline import accounts, units
    from runtime.errors import InvalidInput
    admin = browser_as("admin")
    resp = admin.post("/admin/users/new", data={"username": f"u{uuid.uuid4().hex[:8]}", "display_name": name,
                                                "role": "analyst", "password": "Long-enough-pw-42",
                                                "password_confirm": "Long-enough-pw-42"})
    assert resp.status_code == 400, resp.status_code
    assert "不能包含控制字符或文字方向控制字符" in resp.get_data(as_text=True)
    with pytest.raises(InvalidInput) as err:
        accounts.create_user(db, {"username": "someone", "display_name": name, "role": "analyst",
                                  "password": "Long-enough-pw-42", "password_confirm": "Long-enough-pw-42"}, None)
    assert "display_name" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        units.create_unit(db, {"code": "new_unit", "name": name, "kind": "department", "region_id": None}, None)
    assert err.value.fields["name"] == ["不能包含控制字符或文字方向控制字符"]


# --- body size ------------------------------------------------------------------------------------

@pytest.fixture
def small_limit(app):
    """MAX_BODY_KB of 64 for one test (uploads keep MAX_ATTACHMENT_MB: 1 in the tests)."""
    before = app.config["MAX_BODY_KB"]
    app.config["MAX_BODY_KB"] = 64
    yield 64 << 10
    app.config["MAX_BODY_KB"] = before


def test_the_default_limit_is_one_megabyte(app):
    assert app.config["MAX_BODY_KB"] == 1024


@pytest.mark.parametrize("path", ["/api/v1/appeals", "/api/v1/auth/token", "/login", "/intake",
                                  "/api/v1/tasks/x/complete"])
def test_a_body_over_the_limit_is_413_before_sign_in(client, small_limit, path):
    big = json.dumps({"title": "x" * small_limit}).encode()
    resp = client.post(path, data=big, content_type="application/json")  # no token, no session
    assert resp.status_code == 413, (resp.status_code, resp.get_data(as_text=True)[:200])
    if path.startswith("/api/"):
        assert resp.get_json()["error"]["code"] == "request_entity_too_large"


def test_a_chunked_body_over_the_limit_is_413_too(client, small_limit):
    body = b'{"title": "' + b"x" * (small_limit + 10) + b'"}'
    resp = client.post("/api/v1/appeals", input_stream=io.BytesIO(body), content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    assert resp.status_code == 413


def test_a_chunked_body_within_the_limit_is_read(api, small_limit):
    body = json.dumps({"username": "intake1", "password": demo.DEMO_PASSWORD}).encode()
    resp = api.client.post("/api/v1/auth/token", input_stream=io.BytesIO(body), content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 201, resp.get_json()


def test_attachment_uploads_keep_their_own_limit(api, walk, small_limit):
    appeal = walk.register()
    photo = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + uuid.uuid4().bytes + b"\x00" * (small_limit * 3)
    resp = api.as_("intake1").post(f"/appeals/{appeal['id']}/attachments",
                                   data={"file": (io.BytesIO(photo), "photo.png")}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    over = b"\x00" * ((2 << 20) + 1)  # beyond MAX_ATTACHMENT_MB + 1 MB: refused before it is read
    resp = api.client.post(f"/api/v1/appeals/{appeal['id']}/attachments", data=over,
                           content_type="application/octet-stream")
    assert resp.status_code == 413


# --- Cache-Control --------------------------------------------------------------------------------

def test_api_answers_and_pages_are_not_stored_but_static_files_may_be(api, browser_as, client, walk):
    appeal = walk.register()
    answers = [api.as_("supervisor1").get(f"/appeals/{appeal['id']}"), api.as_("supervisor1").get("/tasks"),
               client.get("/api/v1/appeals"), client.get("/api/v1/appeals/999999"),
               browser_as("supervisor1").get(f"/appeals/{appeal['id']}"), browser_as("intake1").get("/inbox"),
               client.get("/login")]
    for resp in answers:
        assert resp.headers.get("Cache-Control") == "no-store", (resp.request.path, resp.headers)
    static = client.get("/static/" + next(p.name for p in (Path(client.application.static_folder)).iterdir()
                                          if p.is_file()))
    assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"


def test_hsts_is_sent_when_served_over_https(client):
    """Issue 12 item 8: browsers keep to HTTPS once they have seen it."""
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://hotline.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
