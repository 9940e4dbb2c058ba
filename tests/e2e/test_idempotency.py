"""Issue 12 item 4: a client that retries a request whose answer it never received (a crash, a
dropped connection) creates nothing twice. `POST /appeals` and task completion take an
`Idempotency-Key` header; the intake page carries a form token with the same effect."""
import threading
import uuid

from sqlalchemy import func, select

from hotline.models import Appeal

from ..conftest import intake_data


def post(api, username, path, key, **kw):
    headers = {**api.as_(username).headers, **({"Idempotency-Key": key} if key else {})}
    return api.client.post("/api/v1" + path, headers=headers, **kw)


def appeals_titled(db, title):
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Appeal).where(Appeal.title == title))


def test_a_retried_registration_returns_the_first_answer_and_registers_once(api, db):
    title, key = f"重试登记 {uuid.uuid4().hex[:6]}", str(uuid.uuid4())
    first = post(api, "intake1", "/appeals", key, json=intake_data(title=title))
    again = post(api, "intake1", "/appeals", key, json=intake_data(title=title))
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert appeals_titled(db, title) == 1


def test_the_same_key_with_another_body_is_a_conflict_and_a_bad_key_a_400(api, db):
    title, key = f"换了内容 {uuid.uuid4().hex[:6]}", str(uuid.uuid4())
    assert post(api, "intake1", "/appeals", key, json=intake_data(title=title)).status_code == 201
    other = post(api, "intake1", "/appeals", key, json=intake_data(title=title + "（改）"))
    assert other.status_code == 409 and other.get_json()["error"]["reason"] == "idempotency_key_reused"
    bad = post(api, "intake1", "/appeals", "has spaces in it", json=intake_data(title=title))
    assert bad.status_code == 400 and "Idempotency-Key" in bad.get_json()["error"]["fields"]
    assert appeals_titled(db, title) == 1 and appeals_titled(db, title + "（改）") == 0


def test_keys_belong_to_their_user(api, db):
    title, key = f"各自的键 {uuid.uuid4().hex[:6]}", str(uuid.uuid4())
    assert post(api, "intake1", "/appeals", key, json=intake_data(title=title)).status_code == 201
    assert post(api, "intake2", "/appeals", key, json=intake_data(title=title)).status_code == 201
    assert appeals_titled(db, title) == 2  # another agent's call, not a retry


def test_two_identical_requests_at_the_same_moment_register_one_appeal(app, api, db):
    title, key = f"同时重试 {uuid.uuid4().hex[:6]}", str(uuid.uuid4())
    headers = {**api.as_("intake1").headers, "Idempotency-Key": key}
    barrier, answers = threading.Barrier(2), []

    def send():
        client = app.test_client()
        barrier.wait()
        answers.append(client.post("/api/v1/appeals", headers=headers, json=intake_data(title=title)))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.status_code for r in answers) == [201, 201]
    assert answers[0].get_json()["id"] == answers[1].get_json()["id"]
    assert appeals_titled(db, title) == 1


def test_a_retried_completion_returns_the_first_answer_not_a_conflict(api, walk):
    appeal = walk.register()
    task = walk.task(appeal["id"], "intake1", "ut_assess")
    key = str(uuid.uuid4())
    body = {"data": {"assessment": "dispatch"}}
    first = post(api, "intake1", f"/tasks/{task['id']}/complete", key, json=body)
    again = post(api, "intake1", f"/tasks/{task['id']}/complete", key, json=body)
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    assert walk.open_tasks(appeal["id"]) == ["ut_dispatch"]  # completed once
    plain = api.as_("intake1").post(f"/tasks/{task['id']}/complete", json=body)
    assert plain.status_code == 409  # without the key a second completion is still refused


def test_the_intake_page_registers_a_resubmitted_form_once(browser_as, db):
    agent = browser_as("intake1")
    page = agent.get("/intake").get_data(as_text=True)
    token = page.split('name="form_token" value="', 1)[1].split('"', 1)[0]
    assert len(token) == 32
    title = f"页面重复提交 {uuid.uuid4().hex[:6]}"
    form = {"form_token": token, "channel": "phone", "appeal_type": "consultation", "title": title,
            "content": "咨询社保卡补办需要哪些材料？", "appellant.kind": "citizen", "appellant.phone": "13800005678",
            "assessment": "dispatch", "duplicates_checked": "1"}
    first = agent.post("/intake", data=form, follow_redirects=True)
    assert "已登记" in first.get_data(as_text=True)
    again = agent.post("/intake", data=form, follow_redirects=True)
    assert "本次重复提交未重复登记" in again.get_data(as_text=True)
    assert appeals_titled(db, title) == 1
    fresh = agent.get("/intake").get_data(as_text=True).split('name="form_token" value="', 1)[1].split('"', 1)[0]
    assert fresh != token  # the next call gets a token of its own
