"""The version migration page: who may use it, the preview (which instances may move and why
not), migrating a selection or every eligible instance, and reverting."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from runtime import clock, migration
from runtime import repository as definitions
from runtime.models import InstanceMigration, MigrationBatch, ProcessInstance
from web import get_db

from ..conftest import Api, Walker
from ..integration.test_migration import at_dispatch, deploy, latest_files, variant


@pytest.fixture
def versions(app):
    """Two appeals of the test's own on the current version (one being assessed, one at
    dispatch) and two newer versions: `changed` relabels 受理研判, `same` differs only in an end
    event's label and is deployed last so new appeals keep behaving as before."""
    db = get_db(app)
    walk = Walker(Api(app.test_client()))
    assessing, dispatching = walk.register(), at_dispatch(walk)
    with db.read() as session:
        ids = dict(session.execute(select(ProcessInstance.business_key, ProcessInstance.id).where(
            ProcessInstance.business_key.in_([assessing["id"], dispatching]))).all())
        before = definitions.latest(session).id
    base, tag = latest_files(db), uuid.uuid4().hex[:6]  # each test deploys versions of its own
    changed = deploy(db, variant(base, f"办结（页面测试 {tag}）", **{'name="受理研判"': 'name="受理研判（页面测试）"'}))
    same = deploy(db, variant(base, f"办结（页面测试恢复 {tag}）"))
    return {"assessing": ids[assessing["id"]], "dispatching": ids[dispatching], "number": assessing["number"],
            "changed": changed, "same": same, "before": before}


@pytest.mark.parametrize("method,path", [("GET", "/monitor/migrations"), ("POST", "/monitor/migrations/migrate"),
                                         ("POST", "/monitor/migrations/999999/revert")])
def test_only_process_owners_and_admins_may_migrate(client, browser_as, method, path):
    resp = client.open(path, method=method)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    for username in ("supervisor1", "intake1", "gl_urban_leader", "analyst1"):
        assert browser_as(username).open(path, method=method).status_code == 403
    for username in ("owner1", "admin"):
        assert browser_as(username).open(path, method=method).status_code in ((200,) if method == "GET" else
                                                                              (400, 404))


def test_menu_shows_the_page_to_owners_only(browser_as):
    assert "版本迁移" in browser_as("owner1").get("/monitor").get_data(as_text=True)
    assert "版本迁移" not in browser_as("supervisor1").get("/monitor").get_data(as_text=True)


def test_preview_tells_eligible_from_ineligible_with_the_reason(browser_as, versions):
    page = browser_as("owner1").get(f"/monitor/migrations?to={versions['changed']}").get_data(as_text=True)
    assessing_row = page.split(f'/monitor/instances/{versions["assessing"]}"')[1].split("</tr>")[0]
    dispatching_row = page.split(f'/monitor/instances/{versions["dispatching"]}"')[1].split("</tr>")[0]
    assert versions["number"] in assessing_row
    assert "不可迁移" in assessing_row and "当前环节「受理研判」在新版本中已修改" in assessing_row
    assert "可迁移" in dispatching_row and "不可迁移" not in dispatching_row and "派单" in dispatching_row
    assert f'name="instance" value="{versions["dispatching"]}"' in page
    assert f'name="instance" value="{versions["assessing"]}"' not in page
    english = browser_as("owner1")
    english.get("/lang/en")
    assert "has been changed in the new version" in english.get(
        f"/monitor/migrations?to={versions['changed']}").get_data(as_text=True)


def test_preview_of_an_unknown_or_first_version_is_404(browser_as, versions):
    owner = browser_as("owner1")
    assert owner.get("/monitor/migrations?to=999999").status_code == 404
    assert owner.get("/monitor/migrations?to=abc").status_code == 404


def test_migrate_a_selection_then_revert_it(browser_as, db, versions):
    owner = browser_as("owner1")
    resp = owner.post("/monitor/migrations/migrate", data={"to": versions["same"]})
    assert resp.status_code == 400 and "请勾选要迁移的流程实例" in resp.get_data(as_text=True)

    resp = owner.post("/monitor/migrations/migrate", data={"to": versions["changed"],
                                                           "instance": [versions["assessing"]]},
                      follow_redirects=True)
    assert "未迁移" in resp.get_data(as_text=True) and "受理研判" in resp.get_data(as_text=True)

    resp = owner.post("/monitor/migrations/migrate", data={"to": versions["same"],
                                                           "instance": [versions["dispatching"]]})
    assert resp.status_code == 302
    page = owner.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已迁移 1 个流程实例" in page and "撤销迁移" in page
    with db.read() as session:
        assert session.get(ProcessInstance, versions["dispatching"]).deployment_id == versions["same"]
        done = session.scalar(select(InstanceMigration.id).where(
            InstanceMigration.instance_id == versions["dispatching"]).order_by(InstanceMigration.id.desc()))

    page = owner.post(f"/monitor/migrations/{done}/revert", follow_redirects=True).get_data(as_text=True)
    assert "已撤销迁移" in page
    with db.read() as session:
        assert session.get(ProcessInstance, versions["dispatching"]).deployment_id == versions["before"]
    again = owner.post(f"/monitor/migrations/{done}/revert")
    assert again.status_code == 409 and "该迁移已撤销" in again.get_data(as_text=True)


def test_migrate_every_eligible_instance_in_the_background(browser_as, db, versions):
    owner = browser_as("owner1")
    resp = owner.post("/monitor/migrations/migrate", data={"to": versions["same"], "all": "1"},
                      follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "已开始在后台迁移" in html and "排队中" in html  # the request itself moves nothing
    again = owner.post("/monitor/migrations/migrate", data={"to": versions["same"], "all": "1"})
    assert again.status_code == 409 and "已在排队或进行中" in again.get_data(as_text=True)

    assert migration.run_batches(db, "worker-1") >= 2  # what `hotline worker` runs every few seconds
    assert migration.run_batches(db, "worker-1") == 0
    with db.read() as session:
        moved = {i: session.get(ProcessInstance, i).deployment_id
                 for i in (versions["assessing"], versions["dispatching"])}
    assert moved == {versions["assessing"]: versions["same"], versions["dispatching"]: versions["same"]}
    html = owner.get(f"/monitor/migrations?to={versions['same']}").get_data(as_text=True)
    assert "已完成" in html and "已迁移" in html


def test_a_batch_whose_worker_stopped_is_taken_over(db, user, versions):
    batch = migration.request_all(db, versions["same"], user("owner1"))
    with db.transaction() as session:  # a worker took it, then died
        row = session.get(MigrationBatch, batch.id)
        row.status, row.heartbeat_at = "running", clock.now() - timedelta(minutes=10)
    migration.run_batches(db, "worker-2")
    with db.read() as session:
        done = session.get(MigrationBatch, batch.id)
        assert done.status == "done" and done.total == done.moved + len(done.refused)


def test_a_long_preview_lists_the_first_rows_and_counts_them_all(browser_as, db, walk, monkeypatch):
    from web.pages import migration as page
    walk.register(), walk.register()  # two on the version that is newest now
    target = deploy(db, variant(latest_files(db), "办结（长列表）"))
    monkeypatch.setattr(page, "SHOWN", 1)
    html = browser_as("owner1").get(f"/monitor/migrations?to={target}").get_data(as_text=True)
    preview = html.split("迁移记录")[0].split("较早版本上运行中的实例")[1]
    assert "只列出前 1 个" in html and preview.count('href="/monitor/instances/') == 1
