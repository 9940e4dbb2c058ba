"""GET /api/v1/evaluation: the unit evaluation of a period (Art. 25, 26, 28) as the evaluation
page shows it, for one centre's subtree or the province: each indicator's definition (article and
formula), every unit's counts, figures and rank, the total, the ranking within each appeal type,
the honour lists and the people named in commendations and accountability records.

Who may read it is the page's rule (`read_evaluation`): an organizer leader gets the own unit's
row only; staff of a city or county centre may ask for their own centre's subtree only (403
otherwise); an unknown centre is 404, a bad period 400."""
from dataclasses import asdict

from flask import g, request

from hotline import evaluation as ev
from hotline import evaluation_report as reports
from hotline.access import UNIT_LEADER, require
from runtime import clock
from runtime.errors import InvalidInput
from workdays.calendar import TZ

from .. import get_db
from . import bp
from .auth import login_required


def _row(row: ev.UnitRow) -> dict:
    return {"unit_id": row.unit_id or None, "name": row.name or None, "rank": row.rank,
            "counts": asdict(row.counts), "figures": row.figures}


def _indicator(i: ev.Indicator, config: ev.Config) -> dict:
    return {"key": i.key, "name": i.zh, "name_en": i.en, "article": i.article, "formula": i.formula_zh,
            "formula_en": i.formula_en, "weight": config.weight(i.weight) if i.weight else None,
            "deduction": config.deductions[ev.DEDUCTION_KEYS.index(i.deduction)] if i.deduction else None}


def evaluation_document(report) -> dict:
    """The report as plain JSON values (the page's figures, fractions 0-1 and scores 0-100)."""
    centre = report.centre
    return {
        "period": report.period.key, "start": report.start.astimezone(TZ).isoformat(),
        "end": report.end.astimezone(TZ).isoformat(), "as_of": report.as_of.astimezone(TZ).isoformat(),
        "centre": {"id": centre.id, "code": centre.code, "name": centre.name, "level": centre.level} if centre else None,
        "indicators": [_indicator(i, report.config) for i in ev.INDICATORS],
        "weights": dict(zip(ev.WEIGHT_KEYS, report.config.weights, strict=True)),
        "deductions": dict(zip(ev.DEDUCTION_KEYS, report.config.deductions, strict=True)),
        "basically_satisfied_factor": report.config.basically_satisfied_factor,
        "ranked": report.ranked,
        "rows": [_row(r) for r in report.rows],
        "total": _row(report.total),
        "by_type": {t: [_row(r) for r in rows] for t, rows in (report.by_type or {}).items()},
        "lists": {k: [r.unit_id for r in rows] for k, rows in report.lists.items()},
        "individuals": report.individuals or [],
    }


@bp.get("/evaluation")
@login_required
def get_evaluation():
    """?period=2026-10 | 2026-Q4 | 2026 (default: last complete month), &centre=<id or code>."""
    require(g.user, "read_evaluation")
    config = ev.load_config()
    typed = request.args.get("period", "").strip()[:10]
    period = ev.parse_period(typed) if typed else ev.default_period(clock.now(), config.window_start_day)
    if "\x00" in request.args.get("centre", ""):
        raise InvalidInput("bad centre", {"centre": ["未知的中心"]})
    with get_db().read() as session:
        centre = reports.pick_centre(session, g.user, request.args.get("centre"))
        unit_id = g.user.unit_id if g.user.role == UNIT_LEADER else None
        report = reports.unit_report(session, period, config, unit_id=unit_id,
                                     centre_id=centre.id if centre else None)
        return evaluation_document(report)
