"""The hand-computed period (tests/data/evaluation_period.py, issue 16): the database, the
evaluation page, the CSV / XLSX exports, the annual appraisal and GET /api/v1/evaluation all give
the numbers worked out by hand, for the province and per centre; ranks within each appeal type;
the people named; centre boundaries (a city's staff see their own centre's subtree only)."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook

from hotline import evaluation as ev
from hotline import evaluation_report as reports
from hotline import exports

from ..data import evaluation_period as data

P = data.PERIOD
NAMES = {"A": "鼓楼区城市管理局", "B": "厦门市生态环境局", "C": "思明区人民政府"}


@pytest.fixture(scope="module")
def period(app):
    from web import get_db
    return data.load(get_db(app))


def _rows(html: str) -> str:
    return " ".join(html.split())


def test_the_database_gives_the_hand_computed_indicators(db, period):
    with db.read() as session:
        report = reports.unit_report(session, ev.parse_period(P))
        start, end = ev.window(ev.parse_period(P), report.config.window_start_day)
        in_python = ev.tally(reports.facts(session, start, end))
    rows = {r.unit_id: r for r in report.rows}
    for key, unit in period["units"].items():
        row = rows[unit]
        assert in_python[unit] == row.counts  # SQL and the plain-Python tally agree
        assert row.figures["volume"] == data.VOLUME[key]
        for name, expected in data.INDICATORS[key].items():
            assert row.figures[name] == pytest.approx(expected), (key, name)
        assert (row.figures["score"], row.rank) == (data.SCORE[key], data.RANK[key]), key
    assert [r.unit_id for r in report.lists["commended"]] == [period["units"]["B"]]
    assert [(p["kind"], p["name"]) for p in report.individuals] == data.PEOPLE


def test_each_appeal_type_is_ranked_apart(db, period):
    with db.read() as session:
        report = reports.unit_report(session, ev.parse_period(P))
    by_unit = {v: k for k, v in period["units"].items()}
    got = {t: [(by_unit[r.unit_id], r.rank, r.figures["score"]) for r in rows] for t, rows in report.by_type.items()}
    assert got == data.BY_TYPE


@pytest.mark.parametrize("centre, expected", [("xm", data.XIAMEN), ("sm", data.SIMING)])
def test_a_centre_evaluates_the_appeals_of_its_subtree(db, period, centre, expected):
    with db.read() as session:
        centre_id = reports.pick_centre(session, _user(session, "owner1"), centre).id
        report = reports.unit_report(session, ev.parse_period(P), centre_id=centre_id)
    by_unit = {v: k for k, v in period["units"].items()}
    got = {by_unit[r.unit_id]: (r.figures["score"], r.rank) for r in report.rows if r.unit_id in by_unit}
    assert got == expected  # Xiamen: B without a6 (held by Fuzhou); A not there at all


def _user(session, username):
    from sqlalchemy import select

    from hotline.models import User
    return session.scalar(select(User).where(User.username == username))


def test_the_page_shows_the_hand_computed_figures_and_each_formula(browser_as, period):
    html = _rows(browser_as("owner1").get(f"/evaluation?period={P}").get_data(as_text=True))
    ranking = html.split("承办单位排名", 1)[1].split("</table>", 1)[0]
    assert ranking.index(NAMES["B"]) < ranking.index(NAMES["A"]) < ranking.index(NAMES["C"])
    for text in ("65.83", "96.17", "50.00", "60.0%", "66.7%", "33.3%", "80.0%", "98.0%"):
        assert text in ranking, text
    table = html.split("考核指标与计算方法", 1)[1].split("</section>", 1)[0]
    for name, article, formula in (("先行联系率", "第二十条", "（有首次联系时限 − 首次联系超期）÷ 有首次联系时限"),
                                   ("按时办结率", "第二十条", "按时办结 ÷（按时办结 + 办理超期 + 未办结已过期限）"),
                                   ("签收及时率", "第十七条", "（派给本单位 − 签收超期）÷ 派给本单位")):
        row = table.split(name, 1)[1].split("</tr>", 1)[0]
        assert article in row and formula in row, name
    assert "综合得分 = 100 × Σ（权重 × 指标）" in table and "15%" in table  # the on-time weight from the yaml
    by_type = html.split("按诉求类型分类排名", 1)[1].split("</section>", 1)[0]
    complaint = by_type.split('class="type-complaint"', 1)[1].split("</table>", 1)[0]
    assert complaint.index(NAMES["B"]) < complaint.index(NAMES["A"]) and "97.50" in complaint and "71.67" in complaint
    people = html.split("表扬与问责人员", 1)[1].split("</section>", 1)[0]
    for _kind, name in data.PEOPLE:
        assert name in people


def test_the_exports_agree(browser_as, period):
    owner = browser_as("owner1")
    rows = list(csv.reader(io.StringIO(owner.get(f"/evaluation/export.csv?period={P}").data.decode("utf-8-sig"))))
    header = rows[2]
    table = {r[1]: dict(zip(header, r, strict=True)) for r in rows[3:rows.index([])]}
    for key, name in NAMES.items():
        assert table[name]["综合得分"] == f"{data.SCORE[key]:.2f}" and table[name]["排名"] == str(data.RANK[key])
        assert table[name]["先行联系率(%)"] == f"{100 * data.INDICATORS[key]['contact_rate']:.2f}"
        assert table[name]["超期率(%)"] == f"{100 * data.INDICATORS[key]['overdue_rate']:.2f}"
    assert ["问责", "派单员 王强", "dispatcher1", "", "29(1)", "批评教育", "派单错误，延误办理"] in rows
    book = load_workbook(io.BytesIO(owner.get(f"/evaluation/export.xlsx?period={P}").data))
    sheet = book["单位排名"]
    head = [c.value for c in sheet[3]]
    got = {r[1]: dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=4, values_only=True)}
    for key, name in NAMES.items():
        assert got[name]["综合得分"] == data.SCORE[key]
        for indicator in ev.INDICATORS:
            if indicator.zh in head:
                assert got[name][indicator.zh] == pytest.approx(data.INDICATORS[key][indicator.key])
    typed = [r for r in book["分类排名"].iter_rows(min_row=3, values_only=True)]
    assert ("投诉", 1, NAMES["B"], 4, 97.5) in typed and ("求助", 1, NAMES["C"], 2, 70.0) in typed


def test_the_snapshot_table_is_plain_json(db, period):
    import json
    with db.read() as session:
        table = exports.table(reports.unit_report(session, ev.parse_period(P)))
    assert json.loads(json.dumps(table)) == table  # what a publication freezes (hotline.publication)
    header = [h for h, _key, _kind in exports.COLUMNS]
    cells = {row[1]: dict(zip(header, row, strict=True)) for row in table}
    assert (cells[NAMES["B"]]["排名"], cells[NAMES["B"]]["综合得分"]) == (1, 96.17)
    assert cells["合计"]["办件量"] == 15


def test_the_annual_appraisal_has_the_month(browser_as, period):
    owner = browser_as("owner1")
    page = owner.get(f"/evaluation?period={P}").get_data(as_text=True)
    assert 'action="/evaluation/annual.xlsx"' in page and 'name="year"' in page
    resp = owner.get(f"/evaluation/annual.csv?year=2019&unit={period['units']['C']}")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert "思明区人民政府 2019 年度考核" in rows[1][0]
    header = rows[2]
    months = {r[0]: dict(zip(header, r, strict=True)) for r in rows[3:rows.index([])]}
    assert list(months)[:12] == [f"2019-{m:02d}" for m in range(1, 13)] and "2019 全年" in months
    august = months["2019-08"]
    assert (august["综合得分"], august["排名"], august["先行联系率(%)"]) == ("50.00", "3", "50.00")
    assert months["2019-07"]["办件量"] == "0" and months["2019-07"]["综合得分"] == ""
    assert ["问责", "思明区人民政府 负责人", "sm_gov_leader", "思明区人民政府", "30(2)", "通报批评", "超期未办结"] in rows
    book = load_workbook(io.BytesIO(owner.get(f"/evaluation/annual.xlsx?year=2019&unit={period['units']['C']}").data))
    assert book["年度考核"]["A3"].value == "考核期" and book["年度考核"].max_row == 3 + 13
    assert owner.get("/evaluation/annual.csv?year=2019").status_code == 400
    assert owner.get("/evaluation/annual.csv?year=2019&unit=999999").status_code == 404


def test_the_api_agrees(api, period):
    resp = api.as_("owner1").get(f"/evaluation?period={P}")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["period"] == P and body["centre"] is None
    rows = {r["unit_id"]: r for r in body["rows"]}
    for key, unit in period["units"].items():
        figures = rows[unit]["figures"]
        assert (figures["score"], rows[unit]["rank"]) == (data.SCORE[key], data.RANK[key])
        for name, expected in data.INDICATORS[key].items():
            assert figures[name] == pytest.approx(expected), (key, name)
    contact = next(i for i in body["indicators"] if i["key"] == "contact_rate")
    assert contact["article"] == "第二十条" and contact["weight"] == 0.1 and "首次联系" in contact["formula"]
    assert [(r["unit_id"], r["rank"]) for r in body["by_type"]["complaint"]] == [
        (period["units"]["B"], 1), (period["units"]["A"], 2)]
    assert [(p["kind"], p["name"]) for p in body["individuals"]] == data.PEOPLE
    xiamen = api.as_("owner1").get(f"/evaluation?period={P}&centre=xm").get_json()
    got = {r["unit_id"]: (r["figures"]["score"], r["rank"]) for r in xiamen["rows"] if r["figures"]["score"] is not None}
    assert got == {period["units"][k]: v for k, v in data.XIAMEN.items()}
    assert [(p["kind"], p["name"]) for p in xiamen["individuals"]] == data.XIAMEN_PEOPLE


def test_the_page_and_the_api_agree_for_a_centre(browser_as, api, period):
    page = _rows(browser_as("owner1").get(f"/evaluation?period={P}&centre=xm").get_data(as_text=True))
    ranking = page.split("承办单位排名", 1)[1].split("</table>", 1)[0]
    assert "97.50" in ranking and "50.00" in ranking and NAMES["A"] not in ranking
    assert 'centre=xm' in ranking  # the drill-downs keep the centre
    drill = browser_as("owner1").get(f"/evaluation/drill?period={P}&metric=received&unit={period['units']['B']}"
                                     "&centre=xm").get_data(as_text=True)
    assert "考核期样例b1" in drill and "考核期样例a6" not in drill and "共 5 条" in drill


def test_city_staff_see_their_own_subtree_only(browser_as, api, period):
    xm_owner = browser_as("xm_owner")
    own = _rows(xm_owner.get(f"/evaluation?period={P}").get_data(as_text=True))
    assert "97.50" in own  # their own centre by default
    options = re.findall(r'<option value="(\w+)"[^>]*>[^<]*12345', own)
    assert options == ["xm", "sm", "hl"]
    assert xm_owner.get(f"/evaluation?period={P}&centre=sm").status_code == 200
    assert xm_owner.get(f"/evaluation?period={P}&centre=fz").status_code == 403
    assert xm_owner.get(f"/evaluation?period={P}&centre=fj").status_code == 403
    assert xm_owner.get(f"/evaluation/drill?period={P}&metric=received&centre=fz").status_code == 403
    assert xm_owner.get(f"/evaluation/export.csv?period={P}&centre=fz").status_code == 403
    assert xm_owner.get(f"/evaluation?period={P}&centre=nowhere").status_code == 404
    assert api.as_("xm_owner").get(f"/evaluation?period={P}&centre=fz").status_code == 403
    assert api.as_("xm_owner").get(f"/evaluation?period={P}&centre=nowhere").status_code == 404
    assert api.as_("xm_owner").get("/evaluation?period=2019-13").status_code == 400


def test_a_leader_gets_the_own_row_from_the_api(api, period):
    body = api.as_("sm_gov_leader").get(f"/evaluation?period={P}").get_json()
    assert [r["unit_id"] for r in body["rows"]] == [period["units"]["C"]]
    assert body["rows"][0]["rank"] == 3 and body["lists"] == {"red": [], "black": [], "commended": []}
    assert api.as_("intake1").get(f"/evaluation?period={P}").status_code == 403


def test_the_indicators_read_in_english(browser_as, period):
    client = browser_as("owner1")
    client.get("/lang/en")
    html = _rows(client.get(f"/evaluation?period={P}").get_data(as_text=True))
    table = html.split("Indicators and how they are computed", 1)[1].split("</section>", 1)[0]
    row = table.split("First contact on time", 1)[1].split("</tr>", 1)[0]
    assert "Art. 20" in row and "(with a first-contact limit − first contact late)" in row
    assert "Ranking by appeal type" in html and "People commended or held accountable" in html
    assert "Annual appraisal export" in html and "Xiamen 12345 Hotline" in html  # the centre picker
