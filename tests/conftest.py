"""Shared fixtures. The database is SQLite in a temporary file unless DATABASE_URL is set
(CI runs the suite a second time on PostgreSQL). It is migrated, deployed and loaded with the
demo data once per test session and kept as a template; every test module that uses it starts
from a copy of that template (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on
PostgreSQL), so modules pass in any order. Tests create their own appeals; a test that deploys
its own version deploys the repository's again when done (redeploy_repository)."""
import os
import shutil
import uuid
from typing import ClassVar

import pytest
from sqlalchemy import select, text

import hotline
from hotline import accounts, demo
from hotline.models import Appeal, Centre, OrganizerUnit, User
from runtime import clock, repository, schema
from web import create_app, get_db
from workdays import store as calendar_store

accounts.use_fast_hashing()
# tests change calendar rows directly too: check the fingerprint on every build (the one-second
# bound between processes is tested on its own, tests/integration/test_calendar_atomic.py)
calendar_store.CHECK_SECONDS = 0
hotline.configure()  # as the app factory does; tests that build no app read the diagrams too


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hotline")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'test.db'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "ATTACHMENT_DIR": str(tmp / "attachments"),
                      "MAX_ATTACHMENT_MB": 1, "WTF_CSRF_ENABLED": False})
    db = get_db(app)
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    schema.upgrade(db)
    repository.deploy_bundle(db, deployed_by="test")
    demo.load(db)
    app.config["DEMO_LOADED_AT"] = clock.now()  # the demo's month is the one before this
    template = _Template(db, tmp)
    app.extensions["test_template"] = template
    yield app
    get_db(app).dispose()
    template.drop()


class _Template:
    """The freshly loaded database, kept to start every test module from."""

    def __init__(self, db, tmp):
        self.url, self.postgres = db.url, db.is_postgres
        db.dispose()
        if self.postgres:
            self.name = db.engine.url.database
            self.template = f"{self.name}_template"
            self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)',
                        f'CREATE DATABASE "{self.template}" TEMPLATE "{self.name}"')
        else:
            self.path = db.engine.url.database
            self.template = str(tmp / "template.db")
            shutil.copyfile(self.path, self.template)

    def restore(self, db):
        db.dispose()
        calendar_store.forget()  # another database under the same engine
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)',
                        f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')
        else:
            for suffix in ("-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
            shutil.copyfile(self.template, self.path)

    def drop(self):
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')

    def _admin(self, *statements):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        engine = create_engine(make_url(self.url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
        engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def fresh_database(request):
    """Every module that uses the database starts from the template (see the module docstring)."""
    if not any("app" in item.fixturenames for item in request.session.items if item.module is request.module):
        return
    app = request.getfixturevalue("app")
    app.extensions["test_template"].restore(get_db(app))


def redeploy_repository(db, files=None):
    """Deploy the repository's bundle (or `files`) as the newest version after a test deployed its
    own: later tests expect the repository's rules. An end event's label differs each time, so
    it is a new version even when the same content was deployed before."""
    files = dict(files or repository.read_bundle())
    files["appeal_handling.bpmn"] = files["appeal_handling.bpmn"].replace(
        'name="办结"', f'name="办结 {uuid.uuid4().hex[:8]}"', 1)
    repository.deploy_bundle(db, files, deployed_by="test")


@pytest.fixture
def db(app):
    return get_db(app)


@pytest.fixture
def client(app):
    return app.test_client()


class Api:
    """A signed-in API client per demo user: api.as_("intake1").post("/appeals", json=...)."""

    def __init__(self, client):
        self.client = client
        self.tokens = {}

    def token(self, username):
        if username not in self.tokens:
            resp = self.client.post("/api/v1/auth/token",
                                    json={"username": username, "password": demo.DEMO_PASSWORD})
            assert resp.status_code == 201, resp.get_json()
            self.tokens[username] = resp.get_json()["token"]
        return self.tokens[username]

    def as_(self, username):
        return _UserClient(self.client, self.token(username))

    def tasks(self, username, scope="mine"):
        """Every task GET /tasks lists for the user, walking its pages (web.api.paging)."""
        items, cursor = [], None
        while True:
            resp = self.as_(username).get("/tasks", query_string={"scope": scope, "limit": 200,
                                                                  **({"cursor": cursor} if cursor else {})})
            assert resp.status_code == 200, resp.get_json()
            items += resp.get_json()["items"]
            cursor = resp.get_json()["next_cursor"]
            if cursor is None:
                return items


class _UserClient:
    def __init__(self, client, token):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return self.client.get("/api/v1" + path, headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post("/api/v1" + path, headers=self.headers, **kw)


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def browser_as(app):
    """browser_as("gl_urban_staff") -> a test client signed in to the pages as that demo user
    (CSRF checks are off in tests except where a test turns them on)."""
    def sign_in(username):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client
    return sign_in


@pytest.fixture
def unit_id(db):
    """unit_id("gl_urban") -> the demo unit's id."""
    with db.read() as session:
        ids = dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())
    return ids.__getitem__


@pytest.fixture
def user(db):
    def get(username):
        with db.read() as session:
            return session.scalar(select(User).where(User.username == username))
    return get


def handler_assignment(db, unit_code="gl_urban") -> dict:
    """What a unit's leader submits at 指定承办科室和经办人: the demo unit's staff member as handler."""
    with db.read() as session:
        handler = session.scalar(select(User.id).where(User.username == f"{unit_code}_staff"))
    return {"department": "执法科", "handler_id": handler}


def intake_data(**overrides):
    """A valid intake form; keyword arguments replace fields (None drops one)."""
    data = {"channel": "phone", "appeal_type": "complaint", "title": "夜间施工噪音扰民",
            "content": "小区旁工地每晚22点后仍在施工，噪音很大。", "location": "鼓楼区五四路100号",
            "region_code": "350102", "appellant": {"kind": "citizen", "name": "张三", "phone": "13800001234"}}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class Walker:
    """Drives appeals through the JSON API the way users do."""

    def __init__(self, api):
        self.api = api

    def register(self, username="intake1", **overrides):
        resp = self.api.as_(username).post("/appeals", json=intake_data(**overrides))
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def task(self, appeal_id, username, bpmn_id):
        """The user's open task of that kind on that appeal (fails if they cannot see one), on
        any page of GET /tasks."""
        items = self.api.tasks(username)
        found = [t for t in items if t["appeal_id"] == appeal_id and t["bpmn_id"] == bpmn_id]
        assert found, f"{username} has no open {bpmn_id} on appeal {appeal_id}: {items}"
        return found[0]

    def complete(self, appeal_id, username, bpmn_id, data, expect=200):
        task = self.task(appeal_id, username, bpmn_id)
        resp = self.api.as_(username).post(f"/tasks/{task['id']}/complete", json={"data": data})
        assert resp.status_code == expect, resp.get_json()
        return resp.get_json()

    def detail(self, appeal_id, username="supervisor1"):
        resp = self.api.as_(username).get(f"/appeals/{appeal_id}")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def open_tasks(self, appeal_id):
        return sorted(t["bpmn_id"] for t in self.detail(appeal_id)["tasks"])

    def to_signed(self, lead="gl_urban", co=(), unit_id=None, **overrides):
        """Register, assess, dispatch and sign for: returns the appeal id, now being handled."""
        appeal = self.register(**overrides)
        self.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
        self.complete(appeal["id"], "dispatcher1", "ut_dispatch",
                      {"lead_unit_id": unit_id(lead), "co_unit_ids": [unit_id(c) for c in co]})
        self.complete(appeal["id"], f"{lead}_staff", "ut_sign_for", {"sign_decision": "sign"})
        self.complete(appeal["id"], f"{lead}_leader", "ut_assign_handler", self.assignment(lead))
        return appeal["id"]

    def assignment(self, lead="gl_urban") -> dict:
        return handler_assignment(get_db(self.api.client.application), lead)

    def to_replied(self, appeal_id, lead="gl_urban", closure_review=True):
        """Result, the leader's approval and the reply; then (unless told not to) the platform's
        closure review approves it, so the appeal waits for its return visit."""
        self.complete(appeal_id, f"{lead}_staff", "ut_record_result",
                      {"result_action": "submit_result", "result": "已责令工地停止夜间施工", "resolved": True})
        self.complete(appeal_id, f"{lead}_leader", "ut_leader_review", {"review_decision": "approve"})
        self.complete(appeal_id, f"{lead}_staff", "ut_reply",
                      {"reply_method": "phone", "appellant_reached": True, "reply_content": "已电话告知处理结果"})
        if closure_review:
            self.review_closure(appeal_id)

    def review_closure(self, appeal_id, decision="approve", comment=None):
        data = {"closure_decision": decision, **({"closure_comment": comment} if comment else {})}
        return self.complete(appeal_id, self.staff(appeal_id, "dispatcher"), "ut_closure_review", data)

    PROVINCIAL: ClassVar[dict[str, str]] = {"intake": "intake1", "dispatcher": "dispatcher1", "revisit": "revisit1",
                                            "supervisor": "supervisor1", "owner": "owner1"}

    def staff(self, appeal_id, kind: str) -> str:
        """The demo user of that kind ("intake", "dispatcher", "revisit", ...) at the centre that
        holds the appeal now: its platform steps are theirs (hotline.centres). Appeals filed on
        the portal or through Open311 belong to the centre of their region (鼓楼区: 福州市, fz)."""
        with get_db(self.api.client.application).read() as session:
            row = session.execute(select(Centre.code, Centre.parent_id).join(Appeal, Appeal.centre_id == Centre.id)
                                  .where(Appeal.id == appeal_id)).first()
        return self.PROVINCIAL[kind] if row is None or row.parent_id is None else f"{row.code}_{kind}"


@pytest.fixture
def walk(api):
    return Walker(api)
