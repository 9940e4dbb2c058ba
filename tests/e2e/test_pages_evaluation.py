"""Unit evaluation pages (Art. 25, 26, 28): who may open them, the figures of the hand-made data
set (tests/unit/test_evaluation.py) as the database and the page show them, drill-down, the
demo month, and CSV / XLSX exports opened back, watermarked and written to history."""
import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hotline import evaluation as ev
from hotline import evaluation_report as reports
from hotline.models import Appeal, AppealUnit, OrganizerUnit, OverdueRecord
from runtime import clock
from runtime.models import HistoryEvent
from web import get_db
from workdays.calendar import TZ

from ..unit.test_evaluation import DATA

PERIOD = "2019-03"  # nobody else has appeals this far back
ROUTES = ["/evaluation", f"/evaluation/drill?period={PERIOD}&metric=received",
          f"/evaluation/export.csv?period={PERIOD}", f"/evaluation/export.xlsx?period={PERIOD}"]


@pytest.fixture(scope="module")
def units(app):
    """The hand-made data set stored in March 2019: unit A is gl_urban, B xm_env, C sm_gov."""
    db = get_db(app)
    with db.read() as session:
        ids = dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())
    mapping = {1: ids["gl_urban"], 2: ids["xm_env"], 3: ids["sm_gov"]}
    start = datetime(2019, 3, 4, 9, tzinfo=TZ)
    with db.transaction() as session:
        for n, f in enumerate(DATA):
            at = start + timedelta(days=n)
            appeal = Appeal(number=f"FJ{at:%Y%m%d}-{f.appeal_id:06d}", appeal_type="complaint", channel="phone",
                            status={"closed": "archived", "open": "handling"}.get(f.outcome, f.outcome),
                            closed_at=at + timedelta(days=5) if f.outcome != "open" else None,
                            title=f"考核样例{f.appeal_id}", content="样例", accepted_at=at,
                            lead_unit_id=mapping.get(f.lead_unit_id), satisfaction=f.satisfaction,
                            resolved=f.resolved, rehandle_count=f.rehandle_count, handling_due_at=at + timedelta(days=10))
            session.add(appeal)
            session.flush()
            for unit, active in f.leads:
                session.add(AppealUnit(appeal_id=appeal.id, unit_id=mapping[unit], role="lead", active=active))
            for unit in f.late_sign_units:
                session.add(OverdueRecord(appeal_id=appeal.id, stage="sign_for", unit_id=mapping[unit],
                                          due_at=at + timedelta(days=1)))
            if f.late_handling:
                session.add(OverdueRecord(appeal_id=appeal.id, stage="handling", unit_id=mapping[f.lead_unit_id],
                                          due_at=at + timedelta(days=10)))
            if f.extended:
                session.add(HistoryEvent(business_key=appeal.id, action="extension_decided",
                                         detail={"consented": True, "approved": True, "days": 3}))
            session.add(HistoryEvent(business_key=appeal.id, action="task_completed", task_bpmn_id="ut_reply",
                                     detail={"reply_method": "phone", "appellant_reached": f.contacted,
                                             "reply_content": "已答复"}))
            if f.contacted:  # what the reply's declared milestone records
                session.add(HistoryEvent(business_key=appeal.id, action="milestone_reached", task_bpmn_id="ut_reply",
                                         detail={"milestone": "appellant_contacted"}))
    return mapping


def _rows(html: str) -> str:
    return " ".join(html.split())


@pytest.mark.parametrize("path", ROUTES)
def test_signed_out_goes_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("username", ["intake1", "gl_urban_staff", "analyst1", "revisit1"])
@pytest.mark.parametrize("path", ROUTES)
def test_wrong_role_is_forbidden(browser_as, username, path):
    assert browser_as(username).get(path).status_code == 403


@pytest.mark.parametrize("username", ["owner1", "supervisor1", "admin"])
@pytest.mark.parametrize("path", ROUTES)
def test_platform_roles_may_open_everything(browser_as, units, username, path):
    assert browser_as(username).get(path).status_code == 200


def test_database_figures_equal_the_hand_computed_ones(db, units):
    period = ev.parse_period(PERIOD)
    start, end = ev.window(period, ev.load_config().window_start_day)
    mapped = [replace(f, lead_unit_id=units.get(f.lead_unit_id), leads=tuple((units[u], a) for u, a in f.leads),
                      late_sign_units=frozenset(units[u] for u in f.late_sign_units)) for f in DATA]
    with db.read() as session:
        in_sql = reports.unit_counts(session, start, end)
        in_python = ev.tally(reports.facts(session, start, end))
    assert in_sql == ev.tally(mapped) == in_python
    a = in_sql[units[1]]
    assert (a.received, a.late_sign, a.returned, a.handled, a.on_time, a.late, a.valid) == (6, 1, 1, 5, 3, 2, 3)


def test_owner_sees_the_ranking_with_hand_computed_figures(browser_as, units):
    html = _rows(browser_as("owner1").get(f"/evaluation?period={PERIOD}").get_data(as_text=True))
    # C (思明区人民政府) 100, B (厦门市生态环境局) 95.37, A (鼓楼区城市管理局) 64.15; see the unit test
    assert html.index("思明区人民政府") < html.index("厦门市生态环境局") < html.index("鼓楼区城市管理局")
    for text in ("64.15", "95.37", "100.00", "83.3%", "60.0%", "16.7%", "63.3%", "96.7%"):
        assert text in html, text
    assert "红榜" in html and "黑榜" in html and "表扬名单" in html
    assert html.count("<svg") == 2  # type breakdown and ranking bars; no trend line through one point
    assert "只有 2019-03 一个考核期有办结数据" in html


def test_the_trend_is_drawn_once_two_periods_have_handled_appeals(browser_as, units, db):
    # April 2019: after the hand-made March, so the March page keeps its single period
    at = datetime(2019, 4, 8, 9, tzinfo=TZ)
    with db.transaction() as session:
        appeal = Appeal(number="FJ20190408-000901", appeal_type="complaint", channel="phone", status="archived",
                        title="考核样例四月", content="样例", accepted_at=at, closed_at=at + timedelta(days=3),
                        lead_unit_id=units[1], satisfaction="satisfied", resolved=True, rehandle_count=0,
                        handling_due_at=at + timedelta(days=10))
        session.add(appeal)
        session.flush()
        session.add(AppealUnit(appeal_id=appeal.id, unit_id=units[1], role="lead", active=True))
    html = browser_as("owner1").get("/evaluation?period=2019-04").get_data(as_text=True)
    assert html.count("<svg") == 3 and "一个考核期有办结数据" not in html
    assert "<title>2019-04 · 100.0%</title>" in html  # the April point: one satisfied appeal


def test_drill_down_to_a_units_late_appeals(browser_as, units):
    resp = browser_as("owner1").get(f"/evaluation/drill?period={PERIOD}&metric=late&unit={units[1]}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "办理超期的诉求" in html and "鼓楼区城市管理局" in html
    assert "考核样例102" in html and "考核样例104" in html and "考核样例101" not in html
    assert "共 2 条" in html


def test_drill_down_rejects_nonsense(browser_as, units):
    owner = browser_as("owner1")
    assert owner.get(f"/evaluation/drill?period={PERIOD}&metric=bogus").status_code == 400
    assert owner.get("/evaluation/drill?period=2019-13&metric=late").status_code == 400
    assert owner.get(f"/evaluation/drill?period={PERIOD}&metric=late&unit=999999").status_code == 404


def test_bad_period_is_reported_and_kept(browser_as):
    resp = browser_as("owner1").get("/evaluation?period=2019-99")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "考核期无效" in html and 'value="2019-99" selected' in html


def test_leader_sees_only_the_own_row_and_rank(browser_as, units):
    leader = browser_as("gl_urban_leader")
    html = _rows(leader.get(f"/evaluation?period={PERIOD}").get_data(as_text=True))
    assert "鼓楼区城市管理局" in html and "64.15" in html
    assert "厦门市生态环境局" not in html and "95.37" not in html and "红榜" not in html
    assert "导出" not in html
    assert leader.get(f"/evaluation/drill?period={PERIOD}&metric=late&unit={units[1]}").status_code == 200
    assert leader.get(f"/evaluation/drill?period={PERIOD}&metric=late&unit={units[2]}").status_code == 403
    own = leader.get(f"/evaluation/drill?period={PERIOD}&metric=valid").get_data(as_text=True)
    assert "考核样例101" in own and "考核样例201" not in own  # no unit given: the own unit


def test_demo_month_ranking_charts_drill_and_export(app, browser_as, unit_id):
    """Done when: the process owner opens last month (demo data), sees the ranking and charts,
    drills down to a unit's late appeals and exports the table to XLSX."""
    owner = browser_as("owner1")
    start_day = ev.load_config().window_start_day
    last_month = ev.default_period(app.config["DEMO_LOADED_AT"], start_day).key
    # the page opens on last month, the demo's, unless this run crossed into a new month meanwhile
    query = "" if ev.default_period(clock.now(), start_day).key == last_month else f"?period={last_month}"
    html = owner.get("/evaluation" + query).get_data(as_text=True)
    assert "承办单位排名" in html and html.count("<svg") == 2 and "鼓楼区城市管理局" in html
    assert f"只有 {last_month} 一个考核期有办结数据" in html  # the demo fills one month: said, not a lone dot
    link = f"/evaluation/drill?period={last_month}&metric=late&unit={unit_id('gl_urban')}"
    assert link.replace("&", "&amp;") in html
    late = owner.get(link).get_data(as_text=True)
    assert "办理超期的诉求" in late and "鼓楼区城市管理局" in late and "FJ" in late
    book = load_workbook(io.BytesIO(owner.get("/evaluation/export.xlsx" + query).data))
    assert book["单位排名"]["A3"].value == "排名" and book["单位排名"].max_row > 10


def test_csv_export_opened_back(browser_as, db, units, user):
    resp = browser_as("owner1").get(f"/evaluation/export.csv?period={PERIOD}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0][0].startswith("导出人 流程负责人 吴刚（owner1） · 导出时间 20") and rows[-1] == rows[0]
    assert "2019-03-01 至 2019-03-31" in rows[1][0]
    header = rows[2]
    assert header[:3] == ["排名", "承办单位", "办件量"] and "满意率(%)" in header
    table = rows[3:rows.index([])]  # the ranking; the type ranking and the people named follow
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in table}
    a = by_name["鼓楼区城市管理局"]
    assert (a["排名"], a["办件量"], a["签收及时率(%)"], a["按时办结率(%)"], a["综合得分"]) == ("3", "6", "83.33", "60.00", "64.15")
    assert by_name["思明区人民政府"]["排名"] == "1" and by_name["合计"]["排名"] == ""
    _assert_exported(db, user("owner1").id, "csv")


def test_xlsx_export_opened_back(browser_as, db, units, user):
    resp = browser_as("supervisor1").get(f"/evaluation/export.xlsx?period={PERIOD}")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(resp.data))["单位排名"]
    mark = sheet["A1"].value
    assert mark.startswith("导出人 督办员 黄海（supervisor1） · 导出时间 20")
    assert sheet.oddHeader.center.text == mark and mark in sheet.oddFooter.center.text
    header = [c.value for c in sheet[3]]
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert set(load_workbook(io.BytesIO(resp.data)).sheetnames) >= {"分类排名", "表扬与问责人员"}
    a = rows["鼓楼区城市管理局"]
    assert a["排名"] == 3 and a["办件量"] == 6 and a["综合得分"] == 64.15
    assert a["签收及时率"] == pytest.approx(5 / 6) and a["满意率"] == pytest.approx(1.9 / 3)
    assert sheet.cell(row=4, column=header.index("满意率") + 1).number_format == "0.00%"
    lists = load_workbook(io.BytesIO(resp.data))["红黑榜与表扬"]
    assert lists["A1"].value == mark
    _assert_exported(db, user("supervisor1").id, "xlsx")


def _assert_exported(db, actor_id, fmt):
    with db.read() as session:
        event = session.scalars(select(HistoryEvent).where(HistoryEvent.action == "report_exported",
                                                           HistoryEvent.actor_id == actor_id)
                                .order_by(HistoryEvent.id.desc())).first()
    assert event is not None and event.business_key is None
    assert event.detail["period"] == PERIOD and event.detail["format"] == fmt and event.detail["report"] == "unit_ranking"


def test_leader_may_not_export(browser_as):
    assert browser_as("gl_urban_leader").get("/evaluation/export.xlsx").status_code == 403


def test_menu_entry(browser_as):
    assert 'href="/evaluation"' in browser_as("owner1").get("/evaluation").get_data(as_text=True)
    assert 'href="/evaluation"' not in browser_as("intake1").get("/").get_data(as_text=True)
