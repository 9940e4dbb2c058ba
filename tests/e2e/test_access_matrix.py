"""Who may use which route: every page and /api/v1 route of the app, with every method, tried
as every role, against one appeal dispatched to gl_urban (鼓楼区城市管理局).

POLICY below is the specification. Each entry names a route exactly as Flask spells it, the
path tried (ids filled in from the `world` fixture) and the roles allowed. A route added to
the app without an entry here fails `test_every_route_has_an_access_policy`.

What each answer must be:
- allowed, GET: 200, or a redirect that does not lead to /login;
- allowed, POST (a harmless body: an empty form or `{}`): anything but 403, a sign-in
  redirect, an API 401 or a server error (400, 404, 409, 422 for the empty body are fine;
  POST /login answers a wrong password with 401);
- anonymous, not allowed: pages redirect to /login, the API answers 401;
- a route a client system's API key opens (Open311's POST): 403 for everyone without the key;
- signed in, not allowed: 403. No route hides an existing record behind a 404: a user of
  another unit guessing ids gets 403 (ids are sequential, so a 404 would hide nothing);
- never a 5xx.

Roles are demo users: "organizer_staff" / "organizer_leader" work for gl_urban, the unit the
appeal was dispatched to; "other_unit" is sm_market_staff (三明市市场监督管理局), an organizer
of a unit the appeal was NOT dispatched to.
"""
import io
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from hotline import demo, knowledge, open311_clients, publication, return_visits, supervision
from hotline.models import EvaluationLink, OrganizerUnit, SupervisionItem, User
from runtime import clock
from runtime.models import ProcessInstance
from web import get_db
from web.api import MAX_ID
from workdays import store as calendar_store

from ..conftest import Api, Walker
from .test_api_errors import png

ROLES = {
    "intake_agent": "intake1", "dispatcher": "dispatcher1", "organizer_staff": "gl_urban_staff",
    "organizer_leader": "gl_urban_leader", "return_visit_staff": "revisit1", "supervisor": "supervisor1",
    "process_owner": "owner1", "analyst": "analyst1", "admin": "admin", "other_unit": "sm_market_staff",
    "civilization_office": "civil1", "observer": "observer1", "anonymous": None,
}

# -- groups of roles the policy is written in ---------------------------------------------------
ANYONE = tuple(ROLES)
SIGNED_IN = tuple(r for r in ROLES if r != "anonymous")
PLATFORM = ("intake_agent", "dispatcher", "return_visit_staff", "supervisor", "process_owner", "admin")
THE_UNIT = ("organizer_staff", "organizer_leader")  # the unit the appeal was dispatched to
ORGANIZERS = (*THE_UNIT, "other_unit")  # role-only checks cannot tell units apart
CASE_READERS = (*PLATFORM, *THE_UNIT)  # may read the appeal, its files and comments
TASK_ROLES = ("intake_agent", "dispatcher", "return_visit_staff", "supervisor", *ORGANIZERS, "admin")  # web/nav.py
TASK_VIEWERS = ("intake_agent", "dispatcher", "return_visit_staff", "supervisor", *THE_UNIT, "admin")
RECORD_RESULT = ("organizer_staff", "admin")  # the open task is ut_record_result: candidateRoles organizer_staff
INTAKE = ("intake_agent", "dispatcher", "admin")
DISPATCH = ("dispatcher", "admin")
MONITOR_VIEWERS = ("process_owner", "supervisor", "admin")
OPERATORS = ("process_owner", "admin")
KNOWLEDGE_READERS = tuple(r for r in SIGNED_IN if r not in ("civilization_office", "observer"))  # staff only
DEFINITION_READERS = ("process_owner", "analyst", "admin")
MODELERS = ("analyst", "process_owner", "admin")
KNOWLEDGE_WRITERS = (*PLATFORM, *ORGANIZERS)
SUPERVISORS = ("supervisor", "admin")
EVALUATION_READERS = (*MONITOR_VIEWERS, "civilization_office")  # read_evaluation, but for a unit's leader
PUBLISHED_READERS = (*EVALUATION_READERS, "observer")  # read_published_evaluation (Art. 26, 27)

BAD_RESPONSE = {"response": "已整改", "attachment_ids": str(MAX_ID)}  # reaches the rights check, then 400
UPLOAD = "a tiny PNG"  # a body: upload routes check the file before the rights, so send a real one


@dataclass(frozen=True)
class Rule:
    path: str  # with {appeal}, {task}, {attachment}, ... from the `world` fixture
    allowed: tuple
    body: object = None  # None: an empty form / {} JSON
    fresh_client: bool = False  # signing in or out would spoil the cached client
    signs_out: bool = False  # the allowed answer is the sign-in page
    why: str = ""
    api_key: bool = False  # authenticated by a client system's API key, not a user: 403 for anyone without one


POLICY = {
    # -- signing in, language, public status -----------------------------------------------------
    "GET /login": Rule("/login", ANYONE),
    "POST /login": Rule("/login", ANYONE, fresh_client=True, why="an empty form answers 401, wrong password"),
    "GET /logout": Rule("/logout", ANYONE, why="asks; the form posts to POST /logout"),
    "POST /logout": Rule("/logout", ANYONE, fresh_client=True, signs_out=True,
                         why="ends every session and token of the user: the cached clients are made again"),
    "GET /lang/<code>": Rule("/lang/zh_Hans_CN", ANYONE),
    "GET /status": Rule("/status", ANYONE, why="public by design (web/home.py): counts and versions, no "
                                               "personal data"),
    "GET /": Rule("/", ANYONE, why="signed out: to the public portal (web/home.py), which links to sign-in"),
    # -- the public portal (web/pages/portal.py): no account; a tracking page needs a code first --
    "GET /public": Rule("/public", ANYONE),
    "GET /public/faq": Rule("/public/faq?q=社保", ANYONE),
    "GET /public/faq/<int:article_id>": Rule("/public/faq/1", ANYONE, why="the demo's first article, marked public"),
    "GET /public/submit": Rule("/public/submit", ANYONE),
    "POST /public/submit": Rule("/public/submit", ANYONE, why="an empty form: 400 with field messages"),
    "GET /public/submitted": Rule("/public/submitted", ANYONE, why="nothing filed in this browser: to /public"),
    "GET /public/track": Rule("/public/track", ANYONE),
    "POST /public/track": Rule("/public/track", ANYONE, why="no number, phone or code: 400"),
    "GET /public/track/<number>": Rule("/public/track/FJ20260101-000001", ANYONE,
                                       why="not opened with a code in this browser: to the tracking form"),
    "POST /public/track/<number>/evaluate": Rule("/public/track/FJ20260101-000001/evaluate", ANYONE,
                                                 why="not opened with a code: to the tracking form"),
    # -- the appellant's one-time evaluation link (web/pages/public.py): the token is the key ----
    "GET /e/<token>": Rule("/e/{evaluation_token}", ANYONE),
    "POST /e/<token>": Rule("/e/{evaluation_token}", ANYONE, why="no evaluation chosen: 400, the link stays unused"),
    # -- the appeal page (web/pages/appeal.py): platform staff and the appeal's units -------------
    "GET /appeals/<int:appeal_id>": Rule("/appeals/{appeal}", CASE_READERS),
    "POST /appeals/<int:appeal_id>/comments": Rule("/appeals/{appeal}/comments", CASE_READERS),
    "POST /appeals/<int:appeal_id>/urge": Rule("/appeals/{appeal}/urge", ("intake_agent", "dispatcher", "supervisor",
                                                                         "admin"), why="no note: 400"),
    "POST /appeals/<int:appeal_id>/withdraw": Rule("/appeals/{appeal}/withdraw", ("intake_agent", "dispatcher",
                                                                                "supervisor", "admin"),
                                                   why="no reason: 400, nothing withdrawn"),
    "POST /appeals/<int:appeal_id>/grants": Rule("/appeals/{appeal}/grants", SUPERVISORS),
    "POST /appeals/<int:appeal_id>/grants/<int:unit_id>/revoke": Rule("/appeals/{appeal}/grants/{unit}/revoke",
                                                                      SUPERVISORS),
    # -- contact access requests (web/pages/contact_requests.py) ---------------------------------
    "POST /appeals/<int:appeal_id>/contact-requests": Rule("/appeals/{appeal}/contact-requests", THE_UNIT,
                                                           why="no reason: 400, nothing requested"),
    "GET /contact-requests": Rule("/contact-requests", SUPERVISORS),
    "POST /contact-requests/<int:request_id>/grant": Rule("/contact-requests/{missing}/grant", SUPERVISORS),
    "POST /contact-requests/<int:request_id>/refuse": Rule("/contact-requests/{missing}/refuse", SUPERVISORS),
    "GET /attachments/<int:attachment_id>": Rule("/attachments/{attachment}", CASE_READERS),
    # -- inbox and task page (web/pages/inbox.py) --------------------------------------------------
    "GET /inbox": Rule("/inbox", TASK_ROLES),
    "GET /tasks/<task_id>": Rule("/tasks/{task}", TASK_VIEWERS,
                                 why="platform task roles see every task, a unit its own (hotline.inbox.may_see)"),
    "POST /tasks/<task_id>/claim": Rule("/tasks/{task}/claim", RECORD_RESULT),
    # the unit's leader may free a colleague's claim even on a staff-only task
    "POST /tasks/<task_id>/unclaim": Rule("/tasks/{task}/unclaim", (*RECORD_RESULT, "organizer_leader")),
    "POST /tasks/<task_id>/complete": Rule("/tasks/{task}/complete", RECORD_RESULT),
    "POST /tasks/<task_id>/upload": Rule("/tasks/{task}/upload", RECORD_RESULT, body=UPLOAD),
    "POST /tasks/<task_id>/comment": Rule("/tasks/{task}/comment", TASK_VIEWERS),
    # -- intake console and dispatch queue (web/pages/intake.py) ----------------------------------
    "GET /intake": Rule("/intake", INTAKE),
    "POST /intake": Rule("/intake", INTAKE),
    "GET /intake/suggest": Rule("/intake/suggest?q=噪音", INTAKE),
    "GET /intake/duplicates": Rule("/intake/duplicates?phone=13800001234", INTAKE),
    "GET /intake/dispatch": Rule("/intake/dispatch", DISPATCH),
    "GET /intake/dispatch/<task_id>": Rule("/intake/dispatch/{dispatch_task}", DISPATCH),
    "POST /intake/dispatch/<task_id>": Rule("/intake/dispatch/{dispatch_task}", DISPATCH),
    # -- knowledge base (web/pages/knowledge.py): the article belongs to gl_urban -----------------
    "GET /knowledge": Rule("/knowledge", KNOWLEDGE_READERS),
    "GET /knowledge/<int:article_id>": Rule("/knowledge/{article}", KNOWLEDGE_READERS),
    "GET /knowledge/new": Rule("/knowledge/new", KNOWLEDGE_WRITERS),
    "POST /knowledge/new": Rule("/knowledge/new", KNOWLEDGE_WRITERS),
    "GET /knowledge/<int:article_id>/edit": Rule("/knowledge/{article}/edit", (*PLATFORM, *THE_UNIT)),
    "POST /knowledge/<int:article_id>/edit": Rule("/knowledge/{article}/edit", (*PLATFORM, *THE_UNIT)),
    # -- monitor (web/pages/monitor.py) -----------------------------------------------------------
    "GET /monitor": Rule("/monitor", MONITOR_VIEWERS),
    "GET /monitor/instances": Rule("/monitor/instances", MONITOR_VIEWERS),
    "GET /monitor/instances/<int:instance_id>": Rule("/monitor/instances/{instance}", MONITOR_VIEWERS),
    "GET /monitor/instances/<int:instance_id>/diagram.json": Rule("/monitor/instances/{instance}/diagram.json",
                                                                  MONITOR_VIEWERS),
    "POST /monitor/instances/<int:instance_id>/<any(suspend, resume, terminate):action>": Rule(
        "/monitor/instances/{instance}/suspend", OPERATORS, why="no reason given: 400, nothing suspended"),
    "POST /monitor/incidents/<int:job_id>/retry": Rule("/monitor/incidents/{missing}/retry", OPERATORS),
    # -- version migration (web/pages/migration.py) ---------------------------------------------
    "GET /monitor/migrations": Rule("/monitor/migrations", OPERATORS),
    "POST /monitor/migrations/migrate": Rule("/monitor/migrations/migrate", OPERATORS,
                                             why="no target chosen: 400, nothing migrated"),
    "POST /monitor/migrations/<int:migration_id>/revert": Rule("/monitor/migrations/{missing}/revert", OPERATORS),
    # -- process modeler (web/pages/modeler.py): empty bodies save, deploy and write nothing -------
    "GET /modeler": Rule("/modeler", MODELERS),
    "GET /modeler/<name>": Rule("/modeler/time_limits.dmn", MODELERS),
    "GET /modeler/<name>/content": Rule("/modeler/time_limits.dmn/content", MODELERS),
    "POST /modeler/<name>/draft": Rule("/modeler/time_limits.dmn/draft", MODELERS, why="empty: 400"),
    "POST /modeler/<name>/discard": Rule("/modeler/time_limits.dmn/discard", MODELERS, why="no draft: 404"),
    "GET /modeler/<name>/diff": Rule("/modeler/time_limits.dmn/diff", MODELERS),
    "GET /modeler/<name>/download": Rule("/modeler/time_limits.dmn/download", MODELERS),
    "POST /modeler/<name>/write": Rule("/modeler/time_limits.dmn/write", MODELERS, why="off in tests: 409"),
    "GET /modeler/bundle/validate": Rule("/modeler/bundle/validate", MODELERS),
    "POST /modeler/bundle/deploy": Rule("/modeler/bundle/deploy", MODELERS, why="not confirmed: 400"),
    "GET /modeler/forms": Rule("/modeler/forms", MODELERS),
    "GET /modeler/forms/<name>": Rule("/modeler/forms/sign_for.schema.json", MODELERS),
    "POST /modeler/forms/preview": Rule("/modeler/forms/preview", MODELERS, why="empty: a preview of nothing"),
    "POST /modeler/forms/<name>": Rule("/modeler/forms/sign_for.schema.json", MODELERS, why="empty: 400"),
    "POST /modeler/forms/new": Rule("/modeler/forms/new", MODELERS, why="empty: 400"),
    "POST /modeler/forms/<name>/discard": Rule("/modeler/forms/sign_for.schema.json/discard", MODELERS,
                                               why="no draft: 404"),
    "POST /modeler/forms/<name>/write": Rule("/modeler/forms/sign_for.schema.json/write", MODELERS,
                                             why="off in tests: 409"),
    "GET /monitor/processes": Rule("/monitor/processes", DEFINITION_READERS),
    "GET /monitor/processes/<int:deployment_id>": Rule("/monitor/processes/{deployment}", DEFINITION_READERS),
    "GET /monitor/processes/<int:deployment_id>/diagram.json": Rule(
        "/monitor/processes/{deployment}/diagram.json", DEFINITION_READERS),
    # -- return-visit checks (web/pages/return_visits.py); the empty forms are refused with a message ---
    "GET /revisits": Rule("/revisits", ("return_visit_staff", "supervisor", "admin")),
    "POST /revisits/sample": Rule("/revisits/sample", SUPERVISORS),
    "POST /revisits/order": Rule("/revisits/order", SUPERVISORS),
    "POST /revisits/<int:sample_id>/record": Rule("/revisits/{missing}/record", ("return_visit_staff", "supervisor",
                                                                                 "admin")),
    # -- supervision register (web/pages/supervision.py): the item is gl_urban's --------------------
    "GET /supervision": Rule("/supervision", (*SUPERVISORS, "process_owner", *ORGANIZERS),
                             why="a unit lists its own items only"),
    "GET /supervision/items/<int:item_id>": Rule("/supervision/items/{item}", (*SUPERVISORS, "process_owner",
                                                                               *THE_UNIT)),
    "POST /supervision/items/<int:item_id>/respond": Rule(
        "/supervision/items/{item}/respond", ("organizer_leader",), body=BAD_RESPONSE,
        why="only the unit's leader answers for the unit, not even admin (hotline.supervision.respond)"),
    "POST /supervision/items/<int:item_id>/close": Rule("/supervision/items/{item}/close", SUPERVISORS),
    "POST /supervision/items/<int:item_id>/reopen": Rule("/supervision/items/{item}/reopen", SUPERVISORS),
    "GET /supervision/new": Rule("/supervision/new", SUPERVISORS),
    "POST /supervision/new": Rule("/supervision/new", SUPERVISORS),
    "GET /supervision/accountability": Rule("/supervision/accountability", SUPERVISORS),
    "POST /supervision/accountability": Rule("/supervision/accountability", SUPERVISORS),
    # -- unit evaluation (web/pages/evaluation.py): a unit's leader sees its own unit's figures ----
    "GET /evaluation": Rule("/evaluation", (*EVALUATION_READERS, "organizer_leader")),
    "GET /evaluation/drill": Rule("/evaluation/drill?metric=received&unit={unit}",
                                  (*EVALUATION_READERS, "organizer_leader")),
    "GET /evaluation/export.<any(csv, xlsx):fmt>": Rule("/evaluation/export.csv", MONITOR_VIEWERS),
    "GET /evaluation/annual.<any(csv, xlsx):fmt>": Rule("/evaluation/annual.csv?year=2019&unit={unit}",
                                                        MONITOR_VIEWERS),
    # -- published evaluation (web/pages/publication.py, web/pages/observe.py): observers read only
    # what was published, on their own pages; a process owner publishes ---------------------------
    "GET /evaluation/publications": Rule("/evaluation/publications", EVALUATION_READERS),
    "POST /evaluation/publications": Rule("/evaluation/publications", OPERATORS, why="no period: 400, nothing published"),
    "GET /evaluation/publications/<int:publication_id>": Rule("/evaluation/publications/{publication}",
                                                              EVALUATION_READERS),
    "GET /observe": Rule("/observe", PUBLISHED_READERS),
    "GET /observe/<int:publication_id>": Rule("/observe/{publication}", PUBLISHED_READERS),
    # -- administration (web/pages/admin.py); POSTs on records name none (404), new ones are empty --
    "GET /admin/users": Rule("/admin/users", ("admin",)),
    "GET /admin/users/new": Rule("/admin/users/new", ("admin",)),
    "POST /admin/users/new": Rule("/admin/users/new", ("admin",)),
    "GET /admin/users/<int:user_id>": Rule("/admin/users/{user}", ("admin",)),
    "POST /admin/users/<int:user_id>": Rule("/admin/users/{missing}", ("admin",)),
    "POST /admin/users/<int:user_id>/password": Rule("/admin/users/{missing}/password", ("admin",)),
    "GET /admin/throttles": Rule("/admin/throttles", ("admin",)),
    "POST /admin/throttles/<int:throttle_id>/clear": Rule("/admin/throttles/{missing}/clear", ("admin",)),
    "GET /admin/units": Rule("/admin/units", ("admin",)),
    "GET /admin/units/new": Rule("/admin/units/new", ("admin",)),
    "POST /admin/units/new": Rule("/admin/units/new", ("admin",)),
    "GET /admin/units/<int:unit_id>": Rule("/admin/units/{unit}", ("admin",)),
    "POST /admin/units/<int:unit_id>": Rule("/admin/units/{missing}", ("admin",)),
    "GET /admin/centres": Rule("/admin/centres", ("admin",)),
    "GET /admin/centres/new": Rule("/admin/centres/new", ("admin",)),
    "POST /admin/centres/new": Rule("/admin/centres/new", ("admin",)),
    "GET /admin/centres/<int:centre_id>": Rule("/admin/centres/1", ("admin",)),
    "POST /admin/centres/<int:centre_id>": Rule("/admin/centres/{missing}", ("admin",)),
    "POST /admin/regions/<int:region_id>/fallback": Rule("/admin/regions/{missing}/fallback", ("admin",)),
    "GET /admin/calendar": Rule("/admin/calendar", MONITOR_VIEWERS, why="process owners and supervisors read it"),
    "POST /admin/calendar/days": Rule("/admin/calendar/days", ("admin",)),
    "POST /admin/calendar/years": Rule("/admin/calendar/years", ("admin",)),
    # -- Open311 client systems' keys (web/pages/open311_admin.py) ----------------------------------
    "GET /admin/open311": Rule("/admin/open311", ("admin",)),
    "POST /admin/open311": Rule("/admin/open311", ("admin",), why="no name: 400, no key issued"),
    "POST /admin/open311/<int:client_id>/revoke": Rule("/admin/open311/{missing}/revoke", ("admin",)),
    # -- Open311 GeoReport v2 (web/open311): public reads without personal data; POST needs a key --
    "GET /open311/v2/discovery.<any(json, xml):fmt>": Rule("/open311/v2/discovery.xml", ANYONE),
    "GET /open311/v2/services.<any(json, xml):fmt>": Rule("/open311/v2/services.json", ANYONE),
    "GET /open311/v2/services/<code>.<any(json, xml):fmt>": Rule("/open311/v2/services/complaint.xml", ANYONE),
    "GET /open311/v2/requests.<any(json, xml):fmt>": Rule("/open311/v2/requests.json", ANYONE),
    "GET /open311/v2/requests/<service_request_id>.<any(json, xml):fmt>": Rule(
        "/open311/v2/requests/{number}.json", ANYONE, why="any appeal, without personal data (hotline.open311)"),
    "GET /open311/v2/tokens/<token>.<any(json, xml):fmt>": Rule("/open311/v2/tokens/{open311_token}.json", ANYONE),
    "POST /open311/v2/requests.<any(json, xml):fmt>": Rule("/open311/v2/requests.json", (), api_key=True,
                                                           why="no api_key: 403 (GeoReport v2), signed in or not"),
    # -- API: public ------------------------------------------------------------------------------
    "GET /api/v1/health": Rule("/api/v1/health", ANYONE),
    "GET /api/v1/openapi.json": Rule("/api/v1/openapi.json", ANYONE),
    "POST /api/v1/auth/token": Rule("/api/v1/auth/token", ANYONE, fresh_client=True),
    # -- API: reference data and the inbox ------------------------------------------------------
    "GET /api/v1/units": Rule("/api/v1/units", SIGNED_IN),
    "GET /api/v1/forms/<name>": Rule("/api/v1/forms/register_appeal.schema.json", SIGNED_IN),
    "GET /api/v1/tasks": Rule("/api/v1/tasks", SIGNED_IN, why="each sees only the tasks they may work"),
    "GET /api/v1/tasks/<task_id>": Rule("/api/v1/tasks/{task}", RECORD_RESULT,
                                        why="the API shows a task to whoever may work it (runtime.tasks.get)"),
    "POST /api/v1/tasks/<task_id>/claim": Rule("/api/v1/tasks/{task}/claim", RECORD_RESULT),
    "POST /api/v1/tasks/<task_id>/unclaim": Rule("/api/v1/tasks/{task}/unclaim", (*RECORD_RESULT, "organizer_leader")),
    "POST /api/v1/tasks/<task_id>/complete": Rule("/api/v1/tasks/{task}/complete", RECORD_RESULT,
                                                  body={"data": {}}, why="the schema is checked before the "
                                                  "rights: an empty data object reaches the rights check"),
    # -- API: appeals and files -------------------------------------------------------------------
    "POST /api/v1/appeals": Rule("/api/v1/appeals", INTAKE),
    "GET /api/v1/appeals": Rule("/api/v1/appeals", (*CASE_READERS, "other_unit"),
                                why="a unit lists its own appeals (see the other-unit test); analysts none"),
    "GET /api/v1/appeals/<int:appeal_id>": Rule("/api/v1/appeals/{appeal}", CASE_READERS),
    "POST /api/v1/appeals/<int:appeal_id>/attachments": Rule("/api/v1/appeals/{appeal}/attachments", CASE_READERS,
                                                             body=UPLOAD),
    "POST /api/v1/appeals/<int:appeal_id>/urges": Rule("/api/v1/appeals/{appeal}/urges",
                                                        ("intake_agent", "dispatcher", "supervisor", "admin"),
                                                        why="an empty body reaches the rights check, then 400"),
    "POST /api/v1/appeals/<int:appeal_id>/withdrawal": Rule("/api/v1/appeals/{appeal}/withdrawal",
                                                            ("intake_agent", "dispatcher", "supervisor", "admin"),
                                                            why="an empty body reaches the rights check, then 400"),
    "GET /api/v1/attachments/<int:attachment_id>": Rule("/api/v1/attachments/{attachment}", CASE_READERS),
    # -- API: supervision register (web/api/supervision.py) ---------------------------------------
    "GET /api/v1/evaluation": Rule("/api/v1/evaluation", (*EVALUATION_READERS, "organizer_leader"),
                                   why="a leader reads the own unit's row only (web/api/evaluation.py)"),
    "GET /api/v1/supervision-items": Rule("/api/v1/supervision-items", (*SUPERVISORS, "process_owner", *ORGANIZERS)),
    "GET /api/v1/supervision-items/<int:item_id>": Rule("/api/v1/supervision-items/{item}",
                                                        (*SUPERVISORS, "process_owner", *THE_UNIT)),
    "POST /api/v1/supervision-items/<int:item_id>/respond": Rule(
        "/api/v1/supervision-items/{item}/respond", ("organizer_leader",),
        body={"response": "已整改", "attachment_ids": [MAX_ID]}, why="the schema is checked before the rights: "
        "a valid body naming no file of the appeal reaches the rights check, then fails (400)"),
    "POST /api/v1/supervision-items/<int:item_id>/close": Rule(
        "/api/v1/supervision-items/{item}/close", SUPERVISORS, body={"note": " "},
        why="a blank note passes the schema, reaches the rights check, then fails (400)"),
    # -- API: operations (web/api/operations.py) ---------------------------------------------------
    "GET /api/v1/incidents": Rule("/api/v1/incidents", OPERATORS),
    "POST /api/v1/incidents/<int:job_id>/retry": Rule("/api/v1/incidents/{missing}/retry", OPERATORS),
    "GET /api/v1/calendar/alerts": Rule("/api/v1/calendar/alerts", MONITOR_VIEWERS),
    "POST /api/v1/calendar/days": Rule("/api/v1/calendar/days", ("admin",)),
    "POST /api/v1/calendar/years": Rule("/api/v1/calendar/years", ("admin",)),
}

# Routes the matrix does not try: Flask's static files and bpmn-js / dmn-js served from npm to every
# visitor (web/pages/monitor.py, web/pages/modeler.py), none of which holds anything of the hotline's.
UNGUARDED = ("static", "monitor.bpmn_js", "modeler.dmn_js")

def _routes(app) -> dict[str, str]:
    """'METHOD rule' -> endpoint for every route the matrix must cover."""
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNGUARDED:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found[f"{method} {rule.rule}"] = rule.endpoint
    return found


# -- the world the rules are tried against ------------------------------------------------------

@pytest.fixture(scope="module")
def walker(app) -> Walker:
    """The `walk` fixture's driver, made once for the module."""
    return Walker(Api(app.test_client()))


@pytest.fixture(scope="module")
def units(app) -> dict:
    with get_db(app).read() as session:
        return dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())


@pytest.fixture(scope="module")
def world(app, walker, units) -> dict:
    """Ids to put into the paths: one appeal being handled by gl_urban (its open task is
    gl_urban staff's 填报办理结果), one of its attachments, another appeal waiting for
    dispatch, a knowledge article of gl_urban's, the appeal's process instance and deployment,
    an id that names nothing (for POST actions on incidents, samples, users and units: only
    403 or not matters), gl_urban's unit id, an evaluation link's token, a supervision item
    on gl_urban, a user's id and a published period (January 2019, nothing in it)."""
    db, walk = get_db(app), walker
    with db.read() as session:
        people = {u.username: u for u in session.scalars(select(User).where(
            User.username.in_(["admin", "supervisor1", "analyst1", "owner1"])))}
    appeal_id = walk.to_signed(unit_id=units.__getitem__, title="权限矩阵测试：井盖缺失")
    task = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")
    uploaded = walk.api.as_("gl_urban_staff").post(f"/appeals/{appeal_id}/attachments",
                                                   content_type="multipart/form-data",
                                                   data={"file": (io.BytesIO(png()), "井盖.png")})
    assert uploaded.status_code == 201, uploaded.get_json()
    waiting = walk.register(title="权限矩阵测试：待派单")
    walk.complete(waiting["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    dispatch_task = walk.task(waiting["id"], "dispatcher1", "ut_dispatch")
    article = knowledge.create(db, {"title": "权限矩阵测试：井盖报修", "body": "井盖缺失由城管局负责。",
                                    "unit_id": units["gl_urban"]}, people["admin"])
    item = supervision.open_item(db, {"appeal": appeal_id, "reason": "other", "measures": ["rectification_notice"],
                                      "note": "权限矩阵测试", "rectification_days": 5}, people["supervisor1"])
    replied = walk.to_signed(unit_id=units.__getitem__, title="权限矩阵测试：待评价")
    walk.to_replied(replied)  # its appellant's turn to evaluate: the link opens the form
    with db.transaction() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == appeal_id))
        token, _link = return_visits.create_link(session, replied, calendar_store.build(session), clock.now())
    detail = walk.detail(appeal_id)
    _client, key = open311_clients.create(db, "权限矩阵测试系统", people["admin"])
    published = publication.publish(db, "2019-01", None, people["owner1"])
    posted = walk.api.client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "complaint", "description": "权限矩阵测试：路灯不亮", "address_id": "350102",
        "phone": "13800001234"})
    assert posted.status_code == 201, posted.get_data(as_text=True)
    return {"appeal": appeal_id, "number": detail["appeal"]["number"], "title": detail["appeal"]["title"],
            "task": task["id"], "attachment": uploaded.get_json()["id"], "dispatch_task": dispatch_task["id"],
            "article": article.id, "instance": instance.id, "deployment": instance.deployment_id,
            "missing": MAX_ID - 7, "unit": units["gl_urban"], "evaluation_token": token,
            "item": item.id, "user": people["analyst1"].id, "open311_token": posted.get_json()[0]["token"],
            "publication": published.id}


class Clients:
    """One signed-in page client and one API token per demo user, made once per module."""

    def __init__(self, app, api):
        self.app, self.pages, self.api = app, {}, api

    def forget(self, username):
        """After `username` signed out: their cookie and token are void, sign in again when next needed."""
        self.pages.pop(username, None)
        self.api.tokens.pop(username, None)

    def page(self, username, fresh=False):
        if username is None:
            return self.app.test_client()
        if fresh or username not in self.pages:
            client = self.app.test_client()
            resp = client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD})
            assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
            if fresh:
                return client
            self.pages[username] = client
        return self.pages[username]

    def api_headers(self, username):
        return {} if username is None else {"Authorization": f"Bearer {self.api.token(username)}"}

    def request(self, method, path, username, body=None, fresh=False):
        """The request as `username` (None: signed out): API paths with a bearer token,
        pages with the session cookie."""
        on_api = path.startswith("/api/")
        client = self.api.client if on_api else self.page(username, fresh)
        headers = self.api_headers(username) if on_api else {}
        if method == "GET":
            return client.get(path, headers=headers)
        if body is UPLOAD:
            return client.post(path, headers=headers, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(png()), "photo.png")})
        if on_api:
            return client.post(path, headers=headers, json={} if body is None else body)
        return client.post(path, headers=headers, data=body or {})


@pytest.fixture(scope="module")
def clients(app, walker) -> Clients:
    return Clients(app, walker.api)  # one token cache: signing out voids the walker's tokens too


# -- the policy covers the app --------------------------------------------------------------------

def test_every_route_has_an_access_policy(app):
    routes = _routes(app)
    missing = [f"route {key} ({endpoint}) has no access policy" for key, endpoint in sorted(routes.items())
               if key not in POLICY]
    assert not missing, "\n".join(missing)
    stale = sorted(set(POLICY) - set(routes))
    assert not stale, f"POLICY names routes the app does not have: {stale}"


def test_each_policy_path_reaches_its_route(app):
    """A path with a typo would try another route (or none) under this route's name."""
    adapter, routes = app.url_map.bind("localhost"), _routes(app)
    ids = {name: 1 for name in ("appeal", "task", "attachment", "dispatch_task", "article", "instance",
                                "deployment", "missing", "unit", "evaluation_token", "item", "user",
                                "number", "open311_token", "publication")}
    for key, rule in POLICY.items():
        method = key.split(" ", 1)[0]
        endpoint, _ = adapter.match(rule.path.format(**ids).split("?")[0], method=method)
        assert endpoint == routes[key], (key, rule.path, endpoint)
        assert set(rule.allowed) <= set(ROLES), key


# -- the matrix -----------------------------------------------------------------------------------

def _to_login(resp) -> bool:
    return resp.status_code in (301, 302, 303) and resp.headers.get("Location", "").split("?")[0].endswith("/login")


@pytest.mark.parametrize(("key", "role"), [pytest.param(key, role, id=f"{key} as {role}")
                                           for key in POLICY for role in ROLES])
def test_access(world, clients, key, role):
    method, route = key.split(" ", 1)
    rule = POLICY[key]
    path = rule.path.format(**world)
    resp = clients.request(method, path, ROLES[role], rule.body, fresh=rule.fresh_client)
    if rule.signs_out:
        clients.forget(ROLES[role])
    seen = f"{key} as {role} ({path}): {resp.status_code} {resp.headers.get('Location', '')} {resp.data[:300]!r}"
    assert resp.status_code < 500, seen
    on_api = route.startswith("/api/")
    if role in rule.allowed:
        if method == "GET":
            assert resp.status_code == 200 or resp.status_code in (301, 302, 303) and not _to_login(resp), seen
        else:
            assert resp.status_code != 403 and (rule.signs_out or not _to_login(resp)), seen
            assert not (on_api and resp.status_code == 401), seen
    elif role == "anonymous" and not rule.api_key:
        if on_api:
            assert resp.status_code == 401, seen
        else:
            assert _to_login(resp), seen
    else:
        assert resp.status_code == 403, seen


# -- a user of another unit guessing ids ----------------------------------------------------------

OTHER_UNIT = ("sm_market_staff", "sm_market_leader")


@pytest.mark.parametrize("username", OTHER_UNIT)
def test_another_unit_cannot_open_the_appeal_by_its_ids(world, clients, username):
    pages, api = clients.page(username), clients.api_headers(username)
    tried = [pages.get(p) for p in (f"/appeals/{world['appeal']}", f"/appeals/{world['appeal']}?tab=history",
                                    f"/appeals/{world['appeal']}?tab=attachments",
                                    f"/appeals/{world['appeal']}?tab=audit",
                                    f"/tasks/{world['task']}", f"/attachments/{world['attachment']}",
                                    f"/supervision/items/{world['item']}",
                                    f"/evaluation/drill?metric=received&unit={world['unit']}")]
    tried += [clients.api.client.get(p, headers=api) for p in (
        f"/api/v1/appeals/{world['appeal']}", f"/api/v1/tasks/{world['task']}",
        f"/api/v1/attachments/{world['attachment']}", f"/api/v1/supervision-items/{world['item']}")]
    for resp in tried:
        assert resp.status_code == 403, (resp.request.path, resp.status_code)
        body = resp.get_data(as_text=True)
        assert world["title"] not in body and world["number"] not in body, resp.request.path


@pytest.mark.parametrize("username", OTHER_UNIT)
def test_another_units_lists_leave_the_appeal_out(world, clients, username):
    pages, api = clients.page(username), clients.api_headers(username)
    for query in ("", "?scope=claimed", "?scope=unit", f"?scope=unit&q={world['number']}"):
        resp = pages.get(f"/inbox{query}")
        assert resp.status_code == 200, query
        body = resp.get_data(as_text=True)
        assert world["title"] not in body and world["task"] not in body, query
        assert f"/appeals/{world['appeal']}\"" not in body, query
        assert "q=" in query or world["number"] not in body, query  # a search echoes what was typed
    # before_id just above the appeal: the first page would hold it if the unit could list it
    listed = clients.api.client.get(f"/api/v1/appeals?limit=200&before_id={world['appeal'] + 1}", headers=api)
    assert listed.status_code == 200
    assert world["appeal"] not in [a["id"] for a in listed.get_json()["items"]]
    for scope in ("mine", "claimed"):  # on every page (web.api.paging)
        assert world["appeal"] not in [t["appeal_id"] for t in clients.api.tasks(username, scope)]
    register = pages.get("/supervision").get_data(as_text=True)
    assert world["number"] not in register and f"/supervision/items/{world['item']}\"" not in register
    items = clients.api.client.get("/api/v1/supervision-items?limit=200", headers=api).get_json()["items"]
    assert world["item"] not in [row["item"]["id"] for row in items]


# -- another centre's platform staff guessing ids (issue 16: centres) -----------------------------

OTHER_CENTRE = ("xm_intake", "xm_dispatcher", "xm_revisit", "xm_supervisor", "xm_owner")  # 厦门市12345热线


@pytest.mark.parametrize("username", OTHER_CENTRE)
def test_another_centre_cannot_open_the_appeal_by_its_ids(world, clients, username):
    """The appeal was accepted by the provincial centre (intake1): a city's staff have no part in it."""
    pages, api = clients.page(username), clients.api_headers(username)
    paths = [f"/appeals/{world['appeal']}", f"/appeals/{world['appeal']}?tab=history",
             f"/appeals/{world['appeal']}?tab=audit", f"/tasks/{world['task']}",
             f"/attachments/{world['attachment']}"]
    if username in ("xm_supervisor", "xm_owner"):
        paths += [f"/supervision/items/{world['item']}", f"/monitor/instances/{world['instance']}",
                  f"/monitor/instances/{world['instance']}/diagram.json"]
    tried = [pages.get(p) for p in paths]
    if username == "xm_owner":  # nor act on it
        tried.append(pages.post(f"/monitor/instances/{world['instance']}/suspend", data={"reason": "试一试"}))
    tried += [clients.api.client.get(p, headers=api) for p in (
        f"/api/v1/appeals/{world['appeal']}", f"/api/v1/tasks/{world['task']}",
        f"/api/v1/attachments/{world['attachment']}")]
    for resp in tried:
        assert resp.status_code == 403, (username, resp.request.path, resp.status_code)
        body = resp.get_data(as_text=True)
        assert world["title"] not in body and world["number"] not in body, resp.request.path


@pytest.mark.parametrize("username", OTHER_CENTRE)
def test_another_centres_lists_leave_the_appeal_out(world, clients, username):
    pages, api = clients.page(username), clients.api_headers(username)
    for query in ("", "?scope=all", f"?scope=all&q={world['number']}"):
        body = pages.get(f"/inbox{query}").get_data(as_text=True)
        assert world["title"] not in body and world["task"] not in body, query
    listed = clients.api.client.get(f"/api/v1/appeals?limit=200&before_id={world['appeal'] + 1}", headers=api)
    assert world["appeal"] not in [a["id"] for a in listed.get_json()["items"]]
    if username in ("xm_supervisor", "xm_owner"):
        for page in ("/supervision", f"/monitor/instances?q={world['number']}"):
            body = pages.get(page).get_data(as_text=True)
            assert f"/appeals/{world['appeal']}\"" not in body and world["title"] not in body, page
    # the provincial centre's own staff do read it (the tests above would pass on empty lists)
    assert world["number"] in clients.page("owner1").get(f"/monitor/instances?q={world['number']}").get_data(as_text=True)


def test_a_unit_that_returned_the_appeal_no_longer_sees_it(walker, units, clients):
    """sm_market sent the appeal back as not its business and it went to gl_urban: from then on
    sm_market has no part in it and should read nothing more of it (PIPL: only what the work
    needs). Its own return stays in the appeal's history for the platform to see."""
    appeal = walker.register(title="权限矩阵测试：退回后改派")
    walker.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walker.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": units["sm_market"]})
    walker.complete(appeal["id"], "sm_market_staff", "ut_sign_for",
                    {"sign_decision": "return", "return_reason": "不属于本单位职责"})
    walker.complete(appeal["id"], "dispatcher1", "ut_handle_return",
                    {"return_decision": "redispatch", "lead_unit_id": units["gl_urban"]})
    walker.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    headers = clients.api_headers("sm_market_staff")
    assert clients.page("sm_market_staff").get(f"/appeals/{appeal['id']}").status_code == 403
    assert clients.api.client.get(f"/api/v1/appeals/{appeal['id']}", headers=headers).status_code == 403
    listed = clients.api.client.get(f"/api/v1/appeals?limit=200&before_id={appeal['id'] + 1}", headers=headers)
    assert appeal["id"] not in [a["id"] for a in listed.get_json()["items"]]


def test_the_units_own_lists_do_hold_the_appeal(world, clients):
    """The other-unit tests above would pass on empty lists; the unit itself sees the appeal."""
    body = clients.page("gl_urban_staff").get(f"/inbox?scope=unit&q={world['number']}").get_data(as_text=True)
    assert world["number"] in body
    listed = clients.api.client.get(f"/api/v1/appeals?limit=200&before_id={world['appeal'] + 1}",
                                    headers=clients.api_headers("gl_urban_leader"))
    assert world["appeal"] in [a["id"] for a in listed.get_json()["items"]]
    assert world["number"] in clients.page("gl_urban_leader").get("/supervision").get_data(as_text=True)


def test_the_matrix_changed_nothing(app, world, clients):
    """The bodies were harmless: both appeals wait at the same tasks, the process still runs,
    the supervision item is still open, the evaluation link unused, the article as written."""
    detail = clients.api.client.get(f"/api/v1/appeals/{world['appeal']}",
                                    headers=clients.api_headers("supervisor1")).get_json()
    assert [t["id"] for t in detail["tasks"]] == [world["task"]]
    assert detail["appeal"]["status"] == "handling"
    assert not [c for c in detail["history"] if c["action"] in ("comment_added", "contact_granted")]
    queue = clients.page("dispatcher1").get("/intake/dispatch").get_data(as_text=True)
    assert world["dispatch_task"] in queue
    with get_db(app).read() as session:
        assert session.get(ProcessInstance, world["instance"]).status == "running"
        assert session.get(SupervisionItem, world["item"]).status == "open"
        assert session.scalar(select(EvaluationLink.used_at).where(
            EvaluationLink.appeal_id == world["appeal"])) is None
        assert knowledge.get(session, world["article"]).title == "权限矩阵测试：井盖报修"


# -- the public routes that redirect keep people on the site --------------------------------------

@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/x", "/\t/evil.example/x",
                                    "/\n/evil.example/x", "/\\evil.example/x"])
def test_sign_in_and_language_links_never_lead_off_site(app, target):
    """A link to /login?next=... or /lang/en?next=... sent to a civil servant must not land
    them on another site after they sign in (browsers drop tabs and newlines in URLs)."""
    signing_in = app.test_client().post("/login", query_string={"next": target},
                                        data={"username": "analyst1", "password": demo.DEMO_PASSWORD})
    switching = app.test_client().get("/lang/en", query_string={"next": target})
    for resp in (signing_in, switching):
        assert resp.status_code == 302
        location = resp.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), (target, location)
    kept = app.test_client().get("/lang/en", query_string={"next": "/knowledge?q=井盖"})
    assert kept.headers["Location"] == "/knowledge?q=%E4%BA%95%E7%9B%96"
