"""The process owners' monitor: overview, instance list (filters, keyset paging), one instance
(diagram states, tasks, timers, history, suspend / resume / terminate, incident retry) and the
process definitions page analysts may read."""
import re
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hotline import monitor
from runtime import clock
from runtime.models import Job, ProcessInstance
from web.pages.monitor import BPMN_JS
from workdays.calendar import TZ


@pytest.fixture
def owner(browser_as):
    return browser_as("owner1")


def _instance_id(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == appeal_id))


@pytest.fixture
def fresh(walk, db):
    """A newly registered appeal with a title no other test uses: (appeal dict, instance id, title)."""
    title = f"监控测试{uuid.uuid4().hex[:8]}"
    appeal = walk.register(title=title)
    return appeal, _instance_id(db, appeal["id"]), title


def _routes(instance_id, deployment_id):
    return {
        "overview": "/monitor",
        "instances": "/monitor/instances",
        "instance": f"/monitor/instances/{instance_id}",
        "instance_json": f"/monitor/instances/{instance_id}/diagram.json",
        "processes": "/monitor/processes",
        "process": f"/monitor/processes/{deployment_id}",
        "process_json": f"/monitor/processes/{deployment_id}/diagram.json",
    }


def test_who_may_open_which_page(client, browser_as, fresh, db):
    _, instance_id, _ = fresh
    with db.read() as session:
        deployment_id = session.get(ProcessInstance, instance_id).deployment_id
    routes = _routes(instance_id, deployment_id)
    for path in routes.values():
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    allowed = {
        "owner1": set(routes), "admin": set(routes),
        "supervisor1": {"overview", "instances", "instance", "instance_json"},
        "analyst1": {"processes", "process", "process_json"},
        "gl_urban_staff": set(), "intake1": set(),
    }
    for username, pages in allowed.items():
        browser = browser_as(username)
        for name, path in routes.items():
            expected = 200 if name in pages else 403
            assert browser.get(path).status_code == expected, (username, path)


def test_only_process_owners_change_instances(browser_as, fresh):
    _, instance_id, _ = fresh
    for username in ("supervisor1", "analyst1", "gl_urban_staff"):
        browser = browser_as(username)
        for action in ("suspend", "resume", "terminate"):
            resp = browser.post(f"/monitor/instances/{instance_id}/{action}", data={"reason": "测试"})
            assert resp.status_code == 403, (username, action)
        assert browser.post("/monitor/incidents/1/retry").status_code == 403
    page = browser_as("supervisor1").get(f"/monitor/instances/{instance_id}").get_data(as_text=True)
    assert "仅流程负责人可以挂起、恢复或终止流程" in page and 'name="reason"' not in page


def test_overview_counts_and_definitions(owner, fresh):
    page = owner.get("/monitor").get_data(as_text=True)
    for text in ("在办诉求", "今日到期", "已超期", "故障", "待研判", "appeal_handling", "v1", "运行中"):
        assert text in page, text
    assert "查看流程图" in page


def test_list_filters_by_text_type_status_and_date(owner, fresh, walk):
    appeal, instance_id, title = fresh
    resp = owner.get("/monitor/instances", query_string={"q": title})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and appeal["number"] in page and "受理研判" in page and "共 1 条" in page
    assert f"/monitor/instances/{instance_id}" in page
    by_number = owner.get("/monitor/instances", query_string={"q": appeal["number"].lower()}).get_data(as_text=True)
    assert title in by_number
    for args, shown in (({"type": "complaint"}, True), ({"type": "help"}, False), ({"status": "assessing"}, True),
                        ({"status": "archived"}, False), ({"state": "running"}, True), ({"state": "suspended"}, False),
                        ({"from": clock.now().date().isoformat()}, True), ({"to": "2020-01-01"}, False)):
        page = owner.get("/monitor/instances", query_string={"q": title, **args}).get_data(as_text=True)
        assert (appeal["number"] in page) is shown, args


def test_bad_filters_are_reported_and_kept(owner):
    resp = owner.get("/monitor/instances", query_string={"from": "2026-13-01", "status": "nonsense", "q": "噪音"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "日期格式应为 YYYY-MM-DD" in page and "无效的选项" in page
    assert 'value="2026-13-01"' in page and 'value="噪音"' in page
    resp = owner.get("/monitor/instances", query_string={"from": "2026-05-02", "to": "2026-05-01"})
    assert resp.status_code == 400 and "结束日期不能早于开始日期" in resp.get_data(as_text=True)


def test_unit_and_overdue_filters(owner, walk, unit_id, db):
    title = f"超期测试{uuid.uuid4().hex[:8]}"
    appeal_id = walk.to_signed(unit_id=unit_id, title=title)
    number = walk.detail(appeal_id)["appeal"]["number"]
    query = {"q": title, "unit": unit_id("gl_urban")}
    assert number in owner.get("/monitor/instances", query_string=query).get_data(as_text=True)
    assert number not in owner.get("/monitor/instances", query_string={**query, "unit": unit_id("xm_env")}).get_data(
        as_text=True)
    assert number not in owner.get("/monitor/instances", query_string={**query, "deadline": "overdue"}).get_data(
        as_text=True)
    clock.set_now(clock.now() + timedelta(days=60))  # long past the handling limit
    try:
        page = owner.get("/monitor/instances", query_string={**query, "deadline": "overdue"}).get_data(as_text=True)
        assert number in page and "已超期" in page
        assert number not in owner.get("/monitor/instances", query_string={**query, "deadline": "due_today"}) \
            .get_data(as_text=True)
        states = owner.get(f"/monitor/instances/{_instance_id(db, appeal_id)}/diagram.json").get_json()
        assert "overdue" in states["diagrams"]["appeal_handling"]["states"].values()
    finally:
        clock.set_now(None)


def test_keyset_pages_forward_and_back(db, walk):
    token = uuid.uuid4().hex[:8]
    numbers = [walk.register(title=f"翻页{token}-{i}")["number"] for i in range(5)]
    f = monitor.InstanceFilter(text=f"翻页{token}")
    seen, cursor = [], None
    with db.read() as session:
        for _ in range(3):
            page = monitor.list_instances(session, f, clock.now(), after=cursor, limit=2)
            seen += [r["number"] for r in page.rows]
            cursor = page.next_cursor
            assert page.total == 5
        assert seen == numbers[::-1] and cursor is None
        back = monitor.list_instances(session, f, clock.now(), before=page.prev_cursor, limit=2)
        assert [r["number"] for r in back.rows] == numbers[::-1][2:4] and back.next_cursor
        assert monitor.list_instances(session, f, clock.now(), after="garbage", limit=2).rows[0]["number"] == numbers[-1]


def test_paging_links_keep_the_filters(owner, walk):
    token = uuid.uuid4().hex[:8]
    for i in range(51):
        walk.register(title=f"分页{token}-{i}", appeal_type="consultation")
    first = owner.get("/monitor/instances", query_string={"q": f"分页{token}", "type": "consultation"})
    page = first.get_data(as_text=True)
    assert "共 51 条" in page and "下一页" in page and "上一页" not in page
    link = re.search(r'href="([^"]+)">下一页', page).group(1).replace("&amp;", "&")
    assert "type=consultation" in link and "after=" in link
    second = owner.get(link).get_data(as_text=True)
    assert f"分页{token}-0" in second and "上一页" in second and "下一页" not in second


def test_instance_page_shows_diagram_tasks_data_and_history(owner, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    instance_id = _instance_id(db, appeal_id)
    resp = owner.get(f"/monitor/instances/{instance_id}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for text in ("办理中", "鼓楼区城市管理局", "流程图", "待办任务", "事件历史", "登记诉求", "派单", "完成任务",
                 "lead_unit_id", "当前数据", "定时器与故障", "monitor.js", "bpmn-navigated-viewer"):
        assert text in page, text
    assert "<script>" not in page and "onclick" not in page  # CSP: scripts only from files
    data = owner.get(f"/monitor/instances/{instance_id}/diagram.json").get_json()
    main = data["diagrams"]["appeal_handling"]
    assert main["states"]["ut_assess"] == "completed" and main["states"]["ut_dispatch"] == "completed"
    assert main["states"]["ut_record_result"] == "active" and main["states"]["sp_handling"] == "active"
    assert "waiting" in main["states"].values()  # the handling limit's timers
    assert main["counts"]["ut_assess"] == 1 and 'id="ut_assess"' in main["xml"]
    assert set(data["diagrams"]) >= {"appeal_handling", "revisit", "extension_request"}
    assert data["diagrams"]["revisit"]["states"] == {}
    assert owner.get("/monitor/instances/999999").status_code == 404
    assert owner.get("/monitor/instances/999999/diagram.json").status_code == 404


def test_an_archived_instance_keeps_its_final_data_and_what_completed_not_its_tree(owner, walk, unit_id, db):
    """Issue 14: an ended instance stores its final data and per element how often it completed
    (a few hundred bytes instead of the whole task tree); the monitor still draws it and shows
    its data; the runtime refuses to run it again."""
    import json

    from runtime import instances
    from runtime.errors import Conflict
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit",
                  {"visit_method": "phone", "evaluation": "satisfied", "resolved": True})
    instance_id = _instance_id(db, appeal_id)
    with db.read() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row.status == "completed" and set(row.state) == {"ended"}
        assert len(json.dumps(row.state, ensure_ascii=False)) < 4000
        with pytest.raises(Conflict):
            instances.load(session, instance_id, actor=None, lock=False)
    data = owner.get(f"/monitor/instances/{instance_id}/diagram.json").get_json()
    main = data["diagrams"]["appeal_handling"]
    assert data["instance"]["status"] == "completed"
    assert {"ut_assess", "ut_dispatch", "ut_reply"} <= {k for k, v in main["states"].items() if v == "completed"}
    assert data["diagrams"]["revisit"]["states"]["ut_return_visit"] == "completed"  # the called process's own
    assert main["counts"]["ut_assess"] == 1 and "active" not in main["states"].values()
    assert main["states"].get("ut_record_result") == "completed"  # drawn inside the handling subprocess
    page = owner.get(f"/monitor/instances/{instance_id}").get_data(as_text=True)
    assert "lead_unit_id" in page or "牵头单位" in page  # its final data is still shown
    assert owner.post(f"/monitor/instances/{instance_id}/terminate", data={"reason": "重复"}).status_code == 409


def test_suspend_resume_and_terminate_with_a_reason(owner, fresh, walk):
    appeal, instance_id, _ = fresh
    url = f"/monitor/instances/{instance_id}"
    missing = owner.post(f"{url}/suspend", data={"reason": "  "})
    assert missing.status_code == 400 and "请填写原因" in missing.get_data(as_text=True)
    resp = owner.post(f"{url}/suspend", data={"reason": "核查重复登记"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "流程已挂起" in page and "已挂起" in page and "暂停办理" in page and "核查重复登记" in page  # its history
    again = owner.post(f"{url}/suspend", data={"reason": "再挂起一次"})
    assert again.status_code == 409 and "操作未执行" in again.get_data(as_text=True)
    resp = owner.post(f"{url}/resume", data={"reason": "核查完毕"}, follow_redirects=True)
    assert "流程已恢复" in resp.get_data(as_text=True)
    long = owner.post(f"{url}/terminate", data={"reason": "长" * 501})
    assert long.status_code == 400 and "原因不能超过 500 字" in long.get_data(as_text=True)
    assert "长" * 501 in long.get_data(as_text=True)  # the typed reason is kept
    resp = owner.post(f"{url}/terminate", data={"reason": "重复登记，已合并"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "流程已终止" in page and "流程已结束，不能再操作" in page
    assert walk.detail(appeal["id"])["appeal"]["status"] == "terminated"
    assert owner.post("/monitor/instances/999999/suspend", data={"reason": "x"}).status_code == 404


def test_incidents_are_shown_coloured_and_retried(owner, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    instance_id = _instance_id(db, appeal_id)
    with db.transaction() as session:  # as if the worker had failed three times
        job = session.scalars(select(Job).where(Job.instance_id == instance_id).order_by(Job.due_at)).first()
        job.status, job.retries, job.last_error = "incident", 0, "RuntimeError: SMS gateway unreachable"
        job_id = job.id
    overview = owner.get("/monitor").get_data(as_text=True)
    assert "SMS gateway unreachable" in overview and f"/monitor/incidents/{job_id}/retry" in overview
    assert "SMS gateway unreachable" in owner.get(f"/monitor/instances/{instance_id}").get_data(as_text=True)
    states = owner.get(f"/monitor/instances/{instance_id}/diagram.json").get_json()
    assert "failed" in states["diagrams"]["appeal_handling"]["states"].values()
    resp = owner.post(f"/monitor/incidents/{job_id}/retry")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/monitor/instances/{instance_id}")
    with db.read() as session:
        assert session.get(Job, job_id).status == "pending"
    gone = owner.post(f"/monitor/incidents/{job_id}/retry", follow_redirects=True)
    assert "该故障已处理或不存在" in gone.get_data(as_text=True)


def test_process_definitions_for_analysts_hold_no_appeal_data(browser_as, fresh, db):
    appeal, _, title = fresh
    analyst = browser_as("analyst1")
    page = analyst.get("/monitor/processes").get_data(as_text=True)
    assert "appeal_handling" in page and "v1" in page and "运行中" in page
    assert appeal["number"] not in page and title not in page
    deployment_id = int(page.split("/monitor/processes/")[1].split('"')[0])
    assert "流程图" in analyst.get(f"/monitor/processes/{deployment_id}").get_data(as_text=True)
    data = analyst.get(f"/monitor/processes/{deployment_id}/diagram.json").get_json()
    assert data["diagrams"]["appeal_handling"]["counts"].get("ut_assess", 0) >= 1
    assert data["diagrams"]["appeal_handling"]["states"] == {}
    assert analyst.get("/monitor/processes/999999").status_code == 404
    assert analyst.get("/monitor/processes/999999/diagram.json").status_code == 404


def test_pages_in_english(owner):
    owner.get("/lang/en")
    page = owner.get("/monitor").get_data(as_text=True)
    assert "Open appeals" in page and "Overdue" in page and "Incidents" in page
    page = owner.get("/monitor/instances").get_data(as_text=True)
    assert "Number or title" in page and "Search" in page and "Deadline" in page
    owner.get("/lang/zh_Hans_CN")


@pytest.mark.skipif(not BPMN_JS.is_dir(), reason="bpmn-js not installed (make install)")
def test_bpmn_js_is_served_locally(client):
    resp = client.get("/monitor/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert resp.status_code == 200 and b"BpmnJS" in resp.data
    assert client.get("/monitor/vendor/bpmn-js/assets/bpmn-js.css").status_code == 200
    assert client.get("/monitor/vendor/bpmn-js/../package.json").status_code == 404
    assert client.get("/monitor/vendor/bpmn-js/nothing.js").status_code == 404


def test_due_today_ends_at_midnight_in_shanghai():
    assert monitor.end_of_day(datetime(2026, 3, 2, 23, 30, tzinfo=TZ)) == datetime(2026, 3, 3, tzinfo=TZ)
    assert monitor.end_of_day(datetime(2026, 3, 2, 16, 30, tzinfo=TZ).astimezone()) == datetime(2026, 3, 3, tzinfo=TZ)



def test_the_processes_page_shows_each_versions_content_hash(browser_as, db):
    from runtime import repository as definitions
    with db.read() as session:
        latest = definitions.latest(session)
    page = browser_as("analyst1").get("/monitor/processes").get_data(as_text=True)
    assert latest.content_hash[:12] in page and f"v{latest.version}" in page
