"""Publishing evaluation periods (Art. 26, 27): a process owner publishes an ended period once,
which freezes its figures; the civilization office is told in the app and by e-mail; later
changes to the data show as a difference, never in the published table; observers read only
published figures and anonymised statistics per centre, and nothing personal.

Each test uses its own month of 2019 (nobody else has appeals then), so they pass in any order:
May is published by the module's fixture, June through the page, July is published and then
changed."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hotline import evaluation as ev
from hotline import publication
from hotline.models import Appeal, AppealUnit, AppellantContact, Centre, EvaluationPublication
from runtime import clock
from runtime.errors import Conflict, Forbidden, InvalidInput
from runtime.models import HistoryEvent, Notification
from web import get_db
from workdays.calendar import TZ

from .test_pages_monitor_labels import visible_text

APPELLANT, PHONE = "欧阳测评", "13912345678"  # in every appeal below; no observer page may show them
CONTENT = "楼下餐馆油烟直排影响居住"


def _store(db, month: int, appeals: list[dict], unit: int) -> list[int]:
    """Appeals accepted at the provincial centre in `month` of 2019, dispatched to `unit`, each
    with the appellant's contact."""
    ids = []
    with db.transaction() as session:
        centre = session.scalar(select(Centre.id).where(Centre.parent_id.is_(None)))
        for n, spec in enumerate(appeals):
            at = datetime(2019, month, 10 + n, 9, tzinfo=TZ)
            closed = spec["status"] == "archived"
            appeal = Appeal(number=f"FJ{at:%Y%m%d}-{900 + n:06d}", appeal_type=spec.get("type", "complaint"),
                            channel=spec.get("channel", "phone"), status=spec["status"], title=f"油烟扰民{month}-{n}",
                            content=CONTENT, accepted_at=at, closed_at=at + timedelta(days=3) if closed else None,
                            handling_due_at=at + timedelta(days=10), lead_unit_id=unit, centre_id=centre,
                            origin_centre_id=centre, satisfaction=spec.get("satisfaction"),
                            resolved=spec.get("resolved"))
            session.add(appeal)
            session.flush()
            session.add(AppealUnit(appeal_id=appeal.id, unit_id=unit, role="lead"))
            session.add(AppellantContact(appeal_id=appeal.id, kind="person", name=APPELLANT, phone=PHONE))
            ids.append(appeal.id)
    return ids


SATISFIED = {"status": "archived", "satisfaction": "satisfied", "resolved": True}
DISSATISFIED = {"status": "archived", "satisfaction": "dissatisfied", "resolved": False, "channel": "web"}
OPEN = {"status": "handling", "type": "help"}


@pytest.fixture(scope="module")
def data(app):
    """May, June and July 2019 for gl_urban; May published by owner1."""
    db = get_db(app)
    with db.read() as session:
        from hotline.models import OrganizerUnit, User
        unit = session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == "gl_urban"))
        owner = session.scalar(select(User).where(User.username == "owner1"))
    ids = {m: _store(db, m, [SATISFIED, DISSATISFIED, OPEN], unit) for m in (5, 6, 7)}
    may = publication.publish(db, "2019-05", None, owner)
    return {"unit": unit, "appeals": ids, "may": may.id}


def _frozen_row(html: str, unit_name: str) -> dict:
    """The published table's row of the unit: {column title: cell text}."""
    table = html.split('class="grid ranking frozen"', 1)[1].split("</table>", 1)[0]
    head, body = table.split("</thead>", 1)
    titles = [visible_text(h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.DOTALL)]
    row = next(r for r in body.split("<tr") if unit_name in r)
    cells = [visible_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
    return dict(zip(titles, cells, strict=True))


def test_owner_publishes_an_ended_period_from_the_evaluation_area(browser_as, data, db):
    owner = browser_as("owner1")
    page = owner.get("/evaluation/publications").get_data(as_text=True)
    assert 'name="period"' in page and 'action="/evaluation/publications"' in page
    resp = owner.post("/evaluation/publications", data={"period": "2019-06", "centre": ""})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    shown = owner.get(resp.headers["Location"]).get_data(as_text=True)
    assert "2019-06" in shown and "结果与发布时一致" in shown
    # gl_urban: 3 appeals, 2 evaluated: one satisfied, one dissatisfied -> 50.0 %; two closed on time,
    # the third still open long past its deadline (2019) -> on time 2 / 3
    row = _frozen_row(shown, "鼓楼区城市管理局")
    assert (row["办件量"], row["满意率"], row["按时办结率"]) == ("3", "50.0%", "66.7%"), row
    with db.read() as session:
        stored = publication.find(session, "2019-06", None)
        event = session.scalar(select(HistoryEvent).where(HistoryEvent.action == "evaluation_published",
                                                          HistoryEvent.detail["period"].as_string() == "2019-06"))
    assert stored.snapshot["summary"]["volume"] >= 3 and event.actor_id == stored.published_by_id
    listed = owner.get("/evaluation/publications").get_data(as_text=True)
    assert f'/evaluation/publications/{stored.id}"' in listed and "流程负责人 吴刚" in listed


def test_a_period_is_published_once(browser_as, data, db, user):
    resp = browser_as("owner1").post("/evaluation/publications", data={"period": "2019-05", "centre": ""})
    assert resp.status_code == 409
    assert "已经发布" in resp.get_data(as_text=True)
    with pytest.raises(Conflict):
        publication.publish(db, "2019-05", None, user("owner1"))
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(EvaluationPublication)
                              .where(EvaluationPublication.period == "2019-05")) == 1


def test_a_period_not_ended_is_refused(app, browser_as, db, user):
    this_month = ev.containing("month", clock.now(), ev.load_config().window_start_day).key
    resp = browser_as("owner1").post("/evaluation/publications", data={"period": this_month, "centre": ""})
    assert resp.status_code == 400
    assert "考核期尚未结束" in resp.get_data(as_text=True)
    assert browser_as("owner1").post("/evaluation/publications", data={"period": "2019-13"}).status_code == 400
    with pytest.raises(InvalidInput):
        publication.publish(db, ev.containing("year", clock.now(), 1).key, None, user("owner1"))
    with db.read() as session:
        assert publication.find(session, this_month, None) is None


@pytest.mark.parametrize("username", ["supervisor1", "civil1", "observer1", "dispatcher1", "gl_urban_leader"])
def test_only_a_process_owner_publishes(browser_as, data, db, user, username):
    assert browser_as(username).post("/evaluation/publications",
                                     data={"period": "2019-04", "centre": ""}).status_code == 403
    with pytest.raises(Forbidden):
        publication.publish(db, "2019-04", None, user(username))
    with db.read() as session:
        assert publication.find(session, "2019-04", None) is None


def test_a_city_owner_publishes_neither_the_province_nor_another_city(browser_as, db, user):
    with db.read() as session:
        xiamen = session.scalar(select(Centre.id).where(Centre.code == "xm"))
    owner = browser_as("fz_owner")
    assert owner.post("/evaluation/publications", data={"period": "2019-04", "centre": ""}).status_code == 403
    assert owner.post("/evaluation/publications", data={"period": "2019-04", "centre": xiamen}).status_code == 403
    with pytest.raises(Forbidden):
        publication.publish(db, "2019-04", xiamen, user("fz_owner"))


def test_the_civilization_office_receives_the_report_in_the_app_and_by_email(data, db):
    with db.read() as session:
        sent = session.execute(select(Notification.channel, Notification.body).where(
            Notification.recipient == "user:civil1", Notification.body.contains("2019-05"))).all()
    assert sorted(channel for channel, _ in sent) == ["email", "in_app"]
    body = sent[0][1]
    assert "全省 2019-05 考核评价已发布" in body and "满意率" in body and "办件量" in body
    assert APPELLANT not in body and PHONE not in body


def test_a_published_period_stays_frozen_and_the_difference_lists_what_changed(browser_as, data, db, user):
    july = publication.publish(db, "2019-07", None, user("owner1"))
    with db.read() as session:
        assert publication.difference(session, session.get(EvaluationPublication, july.id)) == []
    dissatisfied, still_open = data["appeals"][7][1], data["appeals"][7][2]
    with db.transaction() as session:  # re-evaluated after a re-handling, and a closure recorded late
        session.get(Appeal, dissatisfied).satisfaction = "satisfied"
        session.get(Appeal, dissatisfied).resolved = True
        closed = session.get(Appeal, still_open)
        closed.status, closed.closed_at = "archived", closed.accepted_at + timedelta(days=4)  # within its limit
    with db.read() as session:
        changed = {(d["section"], d["row"], d["column"]): (d["frozen"], d["now"])
                   for d in publication.difference(session, session.get(EvaluationPublication, july.id))}
        province = session.scalar(select(Centre.id).where(Centre.parent_id.is_(None)))
    unit = data["unit"]
    assert changed[("table", unit, "satisfaction_rate")] == (0.5, 1.0)
    assert changed[("table", unit, "resolution_rate")] == (0.5, 1.0)
    assert changed[("table", "total", "satisfaction_rate")] == (0.5, 1.0)
    assert changed[("table", unit, "on_time_rate")] == pytest.approx((2 / 3, 1.0))
    assert changed[("statistics", province, "by_status.handling")] == (1, 0)
    assert changed[("statistics", province, "by_status.archived")] == (2, 3)
    assert ("table", unit, "volume") not in changed  # what did not change is not listed
    page = browser_as("civil1").get(f"/evaluation/publications/{july.id}").get_data(as_text=True)
    assert _frozen_row(page, "鼓楼区城市管理局")["满意率"] == "50.0%"  # still the published figure
    assert "与发布时不同" in page
    difference = page.split('class="card difference"', 1)[1].split("</section>", 1)[0]
    assert "鼓楼区城市管理局" in difference and "满意率" in difference and "100.0%" in difference
    observed = browser_as("observer1").get(f"/observe/{july.id}").get_data(as_text=True)
    assert _frozen_row(observed, "鼓楼区城市管理局")["满意率"] == "50.0%" and "差异" not in observed


def test_the_observer_reads_published_figures_and_anonymised_statistics(browser_as, data, db):
    observer = browser_as("observer1")
    listed = observer.get("/observe").get_data(as_text=True)
    assert f'href="/observe/{data["may"]}"' in listed and "2019-05" in listed
    page = observer.get(f"/observe/{data['may']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _frozen_row(html, "鼓楼区城市管理局")["满意率"] == "50.0%"
    stats = " ".join(visible_text(html.split("各中心统计", 1)[1]).split())
    assert "福建省12345热线" in stats and "受理量 3" in stats  # May: 3 appeals accepted at the province
    assert "投诉 2" in stats and "求助 1" in stats and "电话 2" in stats and "网站 1" in stats
    with db.read() as session:
        numbers = session.scalars(select(Appeal.number).where(Appeal.id.in_(data["appeals"][5]))).all()
    personal = [APPELLANT, PHONE, CONTENT, "油烟扰民", *numbers, "流程负责人 吴刚", "/appeals/", "/evaluation/drill"]
    for page_html in (listed, html):
        for value in personal:
            assert value not in page_html, value


@pytest.mark.parametrize("path", ["/evaluation", "/evaluation/drill?period=2019-05&metric=received",
                                  "/evaluation/export.csv?period=2019-05", "/evaluation/publications",
                                  "/evaluation/publications/{may}", "/appeals/{appeal}", "/monitor", "/inbox",
                                  "/supervision", "/intake"])
def test_the_observer_may_not_open_unpublished_evaluation_or_appeals(browser_as, data, path):
    resp = browser_as("observer1").get(path.format(may=data["may"], appeal=data["appeals"][5][0]))
    assert resp.status_code == 403, path


def test_the_observer_reads_no_appeal_through_the_api(api, data):
    assert api.as_("observer1").get(f"/appeals/{data['appeals'][5][0]}").status_code == 403


def test_the_civilization_office_reads_the_evaluation_and_its_publications(browser_as, data):
    office = browser_as("civil1")
    assert office.get("/evaluation?period=2019-05").status_code == 200
    assert office.get("/evaluation/publications").status_code == 200
    shown = office.get(f"/evaluation/publications/{data['may']}").get_data(as_text=True)
    assert "2019-05" in shown and 'name="period"' not in shown  # reads, does not publish
    assert office.get(f"/appeals/{data['appeals'][5][0]}").status_code == 403


def test_menu_entries(browser_as):
    observer = browser_as("observer1").get("/observe").get_data(as_text=True)
    assert 'href="/observe"' in observer
    assert 'href="/evaluation"' not in observer and 'href="/evaluation/publications"' not in observer
    office = browser_as("civil1").get("/observe").get_data(as_text=True)
    assert 'href="/evaluation"' in office and 'href="/evaluation/publications"' in office
    assert 'href="/evaluation/publications"' not in browser_as("gl_urban_leader").get("/").get_data(as_text=True)


@pytest.mark.parametrize(("username", "path"), [("observer1", "/observe"), ("observer1", "/observe/{may}"),
                                                ("owner1", "/evaluation/publications"),
                                                ("owner1", "/evaluation/publications/{may}")])
def test_the_pages_are_in_english(browser_as, data, username, path):
    client = browser_as(username)
    client.get("/lang/en")
    html = client.get(path.format(may=data["may"])).get_data(as_text=True)
    html = re.sub(r'<span class="data">[^<]*</span>', " ", html)
    text = visible_text(html.split("<main", 1)[-1])
    assert not re.findall(r"[\u4e00-\u9fff]", text), re.findall(r"\S*[\u4e00-\u9fff]+\S*", text)


def test_a_city_owner_publishes_the_own_centre_with_the_counties_under_it(browser_as, db):
    with db.read() as session:
        fuzhou, taijiang = (session.scalar(select(Centre.id).where(Centre.code == code)) for code in ("fz", "tj"))
    owner = browser_as("fz_owner")
    form = owner.get("/evaluation/publications").get_data(as_text=True).split('name="centre"', 1)[1].split("</select>")[0]
    assert re.findall(r'<option value="(\d*)"', form) == [str(fuzhou), str(taijiang)]  # no province, no Xiamen
    resp = owner.post("/evaluation/publications", data={"period": "2019-03", "centre": fuzhou})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    with db.read() as session:
        stored = publication.find(session, "2019-03", fuzhou)
        told = session.scalars(select(Notification.body).where(Notification.recipient == "user:civil1",
                                                               Notification.body.contains("2019-03"))).all()
    assert stored.snapshot["centre"]["name"] == "福州市12345热线"
    assert [e["centre_id"] for e in stored.snapshot["statistics"]] == [fuzhou, taijiang]
    assert len(told) == 2 and told[0].startswith("福州市12345热线 2019-03 考核评价已发布")
    page = browser_as("observer1").get(f"/observe/{stored.id}").get_data(as_text=True)
    assert "福州市12345热线" in page and "台江区12345热线" in page and "厦门市12345热线" not in page
