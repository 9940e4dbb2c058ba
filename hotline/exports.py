"""Exports of the unit evaluation (Art. 25, 26): the ranking table as CSV or XLSX, ready for a
civilization office or an annual appraisal. Every file is watermarked with who exported it and
when (a first-row note, and for XLSX also the printed page header and footer), and the export
is written to history (`report_exported`, no appeal) in the same transaction.
"""
import csv
import io
from dataclasses import dataclass
from datetime import timedelta

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from runtime import clock, history
from runtime.errors import InvalidInput
from workdays.calendar import TZ

from . import evaluation as ev
from . import evaluation_report as reports

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# (header, figure key or count name, kind): kind "rate" is a fraction shown as a percentage
COLUMNS = [
    ("排名", "rank", "int"), ("承办单位", "name", "text"), ("办件量", "volume", "int"),
    *((i.zh, i.key, "rate") for i in ev.INDICATORS if i.key not in ("resolution_rate", "satisfaction_rate")),
    ("延期率", "extension_rate", "rate"), ("重办率", "rehandle_rate", "rate"),
    ("办结审核驳回率", "closure_rejection_rate", "rate"), ("协办及时率", "co_on_time_rate", "rate"),
    ("催办率", "urge_rate", "rate"), ("回访发现问题", "visit_problems", "int"), ("已解释暂不能解决", "not_solvable", "int"),
    ("有效回访量", "valid", "int"),
    ("响应率", "response_rate", "rate"), ("解决率", "resolution_rate", "rate"), ("满意率", "satisfaction_rate", "rate"),
    ("综合得分", "score", "score"),
]


@dataclass
class Export:
    filename: str
    content: bytes
    mimetype: str


def watermark(actor, at) -> str:
    return f"导出人 {actor.display_name}（{actor.username}） · 导出时间 {at.astimezone(TZ):%Y-%m-%d %H:%M:%S}"


def period_label(report) -> str:
    last = (report.end.astimezone(TZ) - timedelta(days=1)).date()  # the window ends at midnight
    return f"考核期 {report.period.key}（{report.start.astimezone(TZ):%Y-%m-%d} 至 {last:%Y-%m-%d}）"


def _value(row: ev.UnitRow, key: str):
    if key == "rank":
        return row.rank
    if key == "name":
        return row.name
    if key == "valid":
        return row.counts.valid
    return row.figures[key]


def table(report) -> list[list]:
    """The ranking as rows of raw values (rates as fractions), the all-units total last."""
    rows = [[_value(r, key) for _h, key, _k in COLUMNS] for r in report.rows]
    total = [_value(report.total, key) for _h, key, _k in COLUMNS]
    total[0], total[1] = None, "合计"
    return [*rows, total]


PEOPLE_HEADER = ["类别", "姓名", "账号", "单位", "条款", "措施", "事由"]
KIND_LABELS = {"commendation": "表扬", "accountability": "问责"}


def people_rows(individuals: list[dict]) -> list[list]:
    """The staff and leaders named in commendations and accountability records, as plain rows."""
    return [[KIND_LABELS[p["kind"]], p["name"], p["username"], p["unit_name"], p["article"], p["measure"],
             p["finding"]] for p in individuals]


def type_table(report) -> list[list]:
    """The ranking within each appeal type: [header, *rows] of (type, rank, unit, volume, score)."""
    rows = [[t, r.rank, r.name, r.figures["volume"], r.figures["score"]]
            for t, ranked in (report.by_type or {}).items() for r in ranked]
    return [["诉求类型", "类内排名", "承办单位", "办件量", "综合得分"], *rows]


def export_ranking(db, period: ev.Period, fmt: str, actor, unit_id: int | None = None, *,
                   centre_id: int | None = None) -> Export:
    """The ranking of `period` as a file (as `actor` may see it: one unit's row with `unit_id`;
    one centre's subtree with `centre_id`). Raises InvalidInput for an unknown format,
    ProcessError for a bad configuration, NotFound for an unknown centre."""
    if fmt not in FORMATS:
        raise InvalidInput("unknown format", {"format": ["仅支持 CSV 或 XLSX"]})
    with db.transaction() as session:
        now = clock.now()
        report = reports.unit_report(session, period, unit_id=unit_id, centre_id=centre_id, as_of=now)
        mark = watermark(actor, now)
        content = (_csv if fmt == "csv" else _xlsx)(report, mark)
        history.record(session, "report_exported", actor_id=actor.id, detail={
            "report": "unit_ranking", "period": period.key, "format": fmt, "rows": len(report.rows),
            "unit_id": unit_id, "centre_id": centre_id, "user": actor.username})
    return Export(f"考核评价_{period.key}_{now.astimezone(TZ):%Y%m%d%H%M}.{fmt}", content, FORMATS[fmt])


ANNUAL_COLUMNS = [("考核期", "period", "text"), ("办件量", "volume", "int"),
                  *((i.zh, i.key, "rate") for i in ev.INDICATORS), ("有效回访量", "valid", "int"),
                  ("综合得分", "score", "score"), ("排名", "rank", "int")]


def annual_table(appraisal: dict) -> list[list]:
    """The annual appraisal as [header, *rows]: each month, then the year."""
    def line(label, row):
        return [label if key == "period" else _value(row, key) for _h, key, _k in ANNUAL_COLUMNS]
    return [[h for h, _k, _t in ANNUAL_COLUMNS], *(line(p.key, row) for p, row in appraisal["months"]),
            line(f"{appraisal['year'].key} 全年", appraisal["total"])]


def export_annual(db, year: int, unit_id: int, fmt: str, actor, *, centre_id: int | None = None) -> Export:
    """A unit's annual appraisal (Art. 25) as a file: its indicators month by month and for the
    year, the composite and rank, and the commendations and accountability records naming it.
    Raises InvalidInput for an unknown format or year, NotFound for an unknown unit or centre."""
    if fmt not in FORMATS:
        raise InvalidInput("unknown format", {"format": ["仅支持 CSV 或 XLSX"]})
    if not 2000 <= year <= 2100:
        raise InvalidInput("bad year", {"year": ["考核年度超出范围"]})
    with db.transaction() as session:
        now = clock.now()
        appraisal = reports.annual(session, year, unit_id, centre_id=centre_id, as_of=now)
        mark = watermark(actor, now)
        title = f"{appraisal['unit'].name} {year} 年度考核（第二十五条） · 共 {appraisal['ranked']} 个单位参与排名"
        header, *rows = annual_table(appraisal)
        people = people_rows(appraisal["individuals"])
        kinds = [k for _h, _key, k in ANNUAL_COLUMNS]
        content = (_annual_csv if fmt == "csv" else _annual_xlsx)(mark, title, header, rows, kinds, people)
        history.record(session, "report_exported", actor_id=actor.id, detail={
            "report": "annual_appraisal", "period": str(year), "format": fmt, "unit_id": unit_id,
            "centre_id": centre_id, "user": actor.username})
    return Export(f"年度考核_{year}_{appraisal['unit'].code}_{now.astimezone(TZ):%Y%m%d%H%M}.{fmt}", content,
                  FORMATS[fmt])


def _annual_csv(mark, title, header, rows, kinds, people) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([mark])
    writer.writerow([title])
    writer.writerow([f"{h}(%)" if kind == "rate" else h for h, kind in zip(header, kinds, strict=True)])
    for values in rows:
        writer.writerow([_text(v, kind) for v, kind in zip(values, kinds, strict=True)])
    writer.writerow([])
    writer.writerow(["表扬与问责（第二十八条至第三十条）"])
    writer.writerow(PEOPLE_HEADER)
    writer.writerows([[v or "" for v in p] for p in people] or [["无"]])
    writer.writerow([mark])
    return out.getvalue().encode("utf-8-sig")


def _annual_xlsx(mark, title, header, rows, kinds, people) -> bytes:
    book = Workbook()
    book.properties.creator = mark
    sheet = book.active
    sheet.title = "年度考核"
    sheet.append([mark])
    sheet.append([title])
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append(values)
        for cell, kind in zip(sheet[sheet.max_row], kinds, strict=True):
            cell.number_format = {"rate": "0.00%", "score": "0.00"}.get(kind, "General")
    sheet.column_dimensions["A"].width = 14
    for page in (sheet.oddHeader, sheet.evenHeader):
        page.center.text = mark
    named = book.create_sheet("表扬与问责")
    named.append([mark])
    named.append(PEOPLE_HEADER)
    for p in people:
        named.append(p)
    named.oddHeader.center.text = mark
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(report, mark: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([mark])
    writer.writerow([period_label(report)])
    writer.writerow([f"{h}(%)" if kind == "rate" else h for h, _key, kind in COLUMNS])
    for values in table(report):
        writer.writerow([_text(v, kind) for v, (_h, _key, kind) in zip(values, COLUMNS, strict=True)])
    writer.writerow([])
    writer.writerow(["按诉求类型分类排名"])
    head, *typed = type_table(report)
    writer.writerow(head)
    writer.writerows([_type_label(t), "" if n is None else n, name, v, "" if s is None else f"{s:.2f}"]
                     for t, n, name, v, s in typed)
    writer.writerow([])
    writer.writerow(["表扬与问责人员（第二十八条至第三十条）"])
    writer.writerow(PEOPLE_HEADER)
    writer.writerows([[v or "" for v in p] for p in people_rows(report.individuals or [])])
    writer.writerow([mark])
    return out.getvalue().encode("utf-8-sig")  # the BOM lets Excel read the Chinese as UTF-8


TYPE_LABELS = {"consultation": "咨询", "complaint": "投诉", "suggestion": "建议", "help": "求助"}


def _type_label(appeal_type: str) -> str:
    return TYPE_LABELS.get(appeal_type, appeal_type)


def _text(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "rate":
        return f"{100 * value:.2f}"
    if kind == "score":
        return f"{value:.2f}"
    return str(value)


def _xlsx(report, mark: str) -> bytes:
    book = Workbook()
    book.properties.creator = mark
    sheet = book.active
    sheet.title = "单位排名"
    width = len(COLUMNS)
    sheet.append([mark])
    sheet.append([period_label(report)])
    sheet.append([h for h, _key, _kind in COLUMNS])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F3")
        cell.alignment = Alignment(horizontal="center")
    for values in table(report):
        sheet.append(values)
        for cell, (_h, _key, kind) in zip(sheet[sheet.max_row], COLUMNS, strict=True):
            cell.number_format = {"rate": "0.00%", "score": "0.00"}.get(kind, "General")
    for line in (1, 2):
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
    sheet["A1"].font = Font(color="888888", italic=True)
    sheet.freeze_panes = "C4"
    sheet.column_dimensions["B"].width = 28
    for header, letter in ((h, chr(ord("A") + i)) for i, (h, _k, _t) in enumerate(COLUMNS) if i != 1):
        sheet.column_dimensions[letter].width = max(9, 2 * len(header) + 3)
    for page in (sheet.oddHeader, sheet.evenHeader):
        page.center.text = mark
    for page in (sheet.oddFooter, sheet.evenFooter):
        page.center.text = f"{mark} · 第 &P 页 / 共 &N 页"
    lists = book.create_sheet("红黑榜与表扬")
    lists.append([mark])
    for title, key in (("红榜", "red"), ("黑榜", "black"), ("表扬名单（第二十八条）", "commended")):
        lists.append([])
        lists.append([title])
        lists[lists.max_row][0].font = Font(bold=True)
        for row in report.lists[key]:
            lists.append([row.rank, row.name, row.figures["score"], row.counts.received])
    lists.column_dimensions["B"].width = 28
    lists.oddHeader.center.text = mark
    typed = book.create_sheet("分类排名")
    typed.append([mark])
    head, *rows = type_table(report)
    typed.append(head)
    for t, *rest in rows:
        typed.append([_type_label(t), *rest])
    named = book.create_sheet("表扬与问责人员")
    named.append([mark])
    named.append(PEOPLE_HEADER)
    for p in people_rows(report.individuals or []):
        named.append(p)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
