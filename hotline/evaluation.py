"""Unit evaluation (考核评价, Art. 25, 26, 28): the figures of each organizer unit per
assessment period, a composite score, the ranking, red and black lists and commendations.
Pure functions over rows; the SQL that feeds them is in hotline/evaluation_report.py.

Which appeals: an appeal belongs to the period in which it was ACCEPTED (`Appeal.accepted_at`,
Asia/Shanghai), so each appeal counts in exactly one period and a period's figures settle as
its appeals close. Terminated appeals and appeals never dispatched (not accepted, answered on
the spot) belong to no unit.

Periods: month "2026-10", quarter "2026-Q4", year "2026". A month's assessment window starts on
`window_start_day` (processes/evaluation.yaml): with 19, "2026-10" runs from 2026-09-19 00:00
to 2026-10-19 00:00 (the 19th of the previous month to the 18th); with 1 it is the calendar
month. A quarter runs from the start of its first month's window to the end of its last; a
year likewise.

Counts per unit U over the period's appeals (`Counts`):
  received   V   dispatched to U as lead (an AppealUnit lead row for U, active or not)   Art. 16
  late_sign  Ls  of V, with a sign-for OverdueRecord for U                                Art. 17
  returned   Rt  of V, whose lead row for U is inactive: U returned it and the platform
                 re-dispatched it (every return ends in a re-dispatch)                    Art. 19
  handled    H   whose lead unit is now U (`Appeal.lead_unit_id`)
  closed         of H, whose process ended (`Appeal.closed_at`)
  late       Lh  of H, with a handling OverdueRecord: the handling limit (extensions
                 included) ran out before the reply, whether it is closed yet or not      Art. 20
  on_time        of H, closed and not late
  extended   E   of H, with an approved extension (history `extension_decided`)           Art. 20(6)
  rehandled  Rh  of H, `rehandle_count` > 0                                               Art. 22
  valid      R   valid return visits: of H, evaluated satisfied, basically satisfied or
                 dissatisfied (`no_evaluation` and not yet visited are not valid)         Art. 21, 23
  contacted  Ct  of R, a step reached the milestone `appellant_contacted` (the diagram declares
                 which: the reply, when its form says the appellant was reached)
  resolved   Rs  of R, `Appeal.resolved` is true
  explained  X   of H, a result was given as "explained, not solvable at present" (the milestone
                 `explained_not_solvable`); reported apart from resolved                    Art. 20(7)
  rejected   Cr  of H, the platform's closure review sent a reply back (the milestone
                 `closure_rejected`)                                                       Art. 18
  visit_problems Vp of H, a random or ordered return visit found a problem and sent it back
                 for rectification (history `return_visit_recorded` with problem_found)   Art. 23
  urged      Ug  of H, the appellant rang again and the holder was urged (history `urged`) Art. 17
  co_received  Cv  dispatched to U as a co-organizer (an AppealUnit co row for U)          Art. 16
  co_late      Cl  of Cv, with a co_feedback OverdueRecord for U                            Art. 30(4)
  co_returned  Cx  of Cv, U returned its part (history `co_returned` naming U)              Art. 16
  satisfied S, basically B, dissatisfied D: of R, by evaluation

  contact_due Cd of H, with a first-contact limit (`Appeal.first_contact_due_at`, set at dispatch)
  late_contact Lc of Cd, with a first_contact OverdueRecord: the diagram's timer
                 `tm_first_contact_due` on `ut_first_contact` (主动联系诉求人) records one when the
                 task is still open at the limit, so no record means the unit reached the
                 appellant in time (the `appellant_contacted` milestone comes only with the reply,
                 too late to say whether the FIRST contact was on time)                   Art. 20
  open_late  Lo  of H, still open, without a handling OverdueRecord, whose handling deadline
                 (`Appeal.handling_due_at`) is before the report's "as of" time: late too,
                 even before the timer has written its record                              Art. 20
  visited    Vd  of H, closed, with a return visit recorded (any evaluation, "no evaluation"
                 included)                                                                 Art. 21

Indicators (Art. 25, 26; `INDICATORS`, the one place each is defined, with its article and
formula; None when the denominator is 0):
  签收及时率 sign-for on time     (V − Ls) / V                                     Art. 17
  先行联系率 contact on time      (Cd − Lc) / Cd                                   Art. 20
  办结率     completed           closed / H                                       Art. 20
  按时办结率 completed on time    on_time / (on_time + Lh + Lo)  (open past the deadline is late)
  回访率     return visits done   Vd / closed                                      Art. 21
  解决率     resolved             Rs / R                                           Art. 23
  满意率     satisfied            (S + f × B) / R,  f = basically_satisfied_factor (0.9)
  退单率     returns (deduction)  Rt / V                                           Art. 19
  超期率     overdue (deduction)  (Lh + Lo) / H                                    Art. 20
Other figures: extension rate E / H, re-handle rate Rh / H, closure rejection rate Cr / H,
co-organizer timeliness (Cv − Cl) / Cv, urge rate Ug / H, response rate Ct / R, not solvable X.

Composite score (0-100, 2 decimals; None when R = 0, so a unit without a valid return visit is
not scored):
  100 × Σ w_i × x_i / Σ w_i  over the seven weighted indicators x_i that have a value
      − d_return × 100 × return rate − d_overdue × 100 × overdue rate,   at least 0
  weights w_i and deductions d from processes/evaluation.yaml (defaults: sign-for 0.10,
  contact 0.10, completed 0.10, completed on time 0.15, return visits 0.05, resolved 0.25,
  satisfied 0.25; deductions 0.10 each, i.e. up to 10 points). An indicator without a
  denominator drops out and the other weights are scaled up, so a unit is not punished for
  what it had none of.

Ranking by appeal category (graded evaluation): the same ranking within each appeal type
(consultation, complaint, suggestion, help) over that type's appeals only, so a unit is compared
with units handling the same kind of matter.

Ranking (Art. 26): units with at least `min_valid_visits` valid return visits, by composite
score (highest first), ties broken by volume (largest first); units equal in both share a rank
(1, 2, 2, 4). Red list: the first `red_list_size` ranked; black list: the last
`black_list_size` ranked that are not on the red list, worst first. Commendation (Art. 28): up
to `commendation.size` from the top whose score is at least `min_score` and volume at least
`min_volume`.
"""
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

import yaml

from runtime.errors import InvalidInput, ProcessError
from workdays.calendar import TZ

from .config import PROCESSES_DIR

CONFIG_PATH = PROCESSES_DIR / "evaluation.yaml"
KINDS = ("month", "quarter", "year")
VALID_EVALUATIONS = ("satisfied", "basically_satisfied", "dissatisfied")
RATES = ("sign_for_rate", "contact_rate", "completion_rate", "on_time_rate", "visit_rate", "return_rate",
         "overdue_rate", "extension_rate", "rehandle_rate", "closure_rejection_rate", "co_on_time_rate", "urge_rate",
         "response_rate", "resolution_rate", "satisfaction_rate")


WEIGHT_KEYS = ("sign_for", "contact", "completed", "on_time", "visit", "resolution", "satisfaction")
DEFAULT_WEIGHTS = (0.10, 0.10, 0.10, 0.15, 0.05, 0.25, 0.25)
DEDUCTION_KEYS = ("returned", "overdue")


@dataclass(frozen=True)
class Config:
    window_start_day: int = 1
    weights: tuple[float, ...] = DEFAULT_WEIGHTS  # in the order of WEIGHT_KEYS
    deductions: tuple[float, float] = (0.10, 0.10)  # returned, overdue: points per percentage point / 100
    basically_satisfied_factor: float = 0.9
    min_valid_visits: int = 1
    red_list_size: int = 3
    black_list_size: int = 3
    commendation_size: int = 3
    commendation_min_score: float = 90.0
    commendation_min_volume: int = 5

    def weight(self, key: str) -> float:
        return self.weights[WEIGHT_KEYS.index(key)]


def load_config(path: Path = CONFIG_PATH) -> Config:
    """The analysts' settings. Raises ProcessError when the file is unreadable or a value is
    out of range (weights must be non-negative and add up to 1; deductions between 0 and 1)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        weights = raw.get("weights", {})
        deductions = raw.get("deductions", {})
        praise = raw.get("commendation", {})
        unknown = set(weights) - set(WEIGHT_KEYS)
        if unknown:
            raise ValueError(f"unknown weights {sorted(unknown)}; known: {', '.join(WEIGHT_KEYS)}")
        config = Config(
            window_start_day=int(raw.get("window_start_day", 1)),
            weights=tuple(float(weights.get(k, d)) for k, d in zip(WEIGHT_KEYS, DEFAULT_WEIGHTS, strict=True)),
            deductions=tuple(float(deductions.get(k, 0.10)) for k in DEDUCTION_KEYS),
            basically_satisfied_factor=float(raw.get("basically_satisfied_factor", 0.9)),
            min_valid_visits=int(raw.get("min_valid_visits", 1)),
            red_list_size=int(raw.get("red_list_size", 3)), black_list_size=int(raw.get("black_list_size", 3)),
            commendation_size=int(praise.get("size", 3)), commendation_min_score=float(praise.get("min_score", 90)),
            commendation_min_volume=int(praise.get("min_volume", 5)))
    except (OSError, yaml.YAMLError, TypeError, ValueError, AttributeError) as err:
        raise ProcessError(f"{path}: {err}") from err
    if not 1 <= config.window_start_day <= 28:
        raise ProcessError(f"{path}: window_start_day must be between 1 and 28")
    if min(config.weights) < 0 or abs(sum(config.weights) - 1) > 1e-6:
        raise ProcessError(f"{path}: the weights must be non-negative and add up to 1")
    if not all(0 <= d <= 1 for d in config.deductions):
        raise ProcessError(f"{path}: the deductions must be between 0 and 1")
    if not 0 <= config.basically_satisfied_factor <= 1:
        raise ProcessError(f"{path}: basically_satisfied_factor must be between 0 and 1")
    return config


# -- periods -------------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Period:
    kind: str  # month | quarter | year
    year: int
    index: int = 0  # month 1-12, quarter 1-4, 0 for a year

    @property
    def key(self) -> str:
        return {"month": f"{self.year}-{self.index:02d}", "quarter": f"{self.year}-Q{self.index}",
                "year": f"{self.year}"}[self.kind]

    def months(self) -> tuple[int, int]:
        """(first, last) month of the year this period covers."""
        if self.kind == "month":
            return self.index, self.index
        if self.kind == "quarter":
            return 3 * self.index - 2, 3 * self.index
        return 1, 12


def parse_period(text: str) -> Period:
    """'2026-10', '2026-Q4' or '2026'. Raises InvalidInput."""
    text = (text or "").strip().upper()
    try:
        if len(text) == 4:
            period = Period("year", int(text))
        elif len(text) == 7 and text[4:6] == "-Q":
            period = Period("quarter", int(text[:4]), int(text[6]))
        elif len(text) == 7 and text[4] == "-":
            period = Period("month", int(text[:4]), int(text[5:]))
        else:
            raise ValueError(text)
    except ValueError as err:
        raise InvalidInput("bad period", {"period": ["考核期格式应为 2026-10、2026-Q4 或 2026"]}) from err
    limit = {"month": 12, "quarter": 4, "year": 0}[period.kind]
    if not (2000 <= period.year <= 2100 and (period.index == 0 if limit == 0 else 1 <= period.index <= limit)):
        raise InvalidInput("bad period", {"period": ["考核期超出范围"]})
    return period


def _month_start(year: int, month: int, start_day: int) -> datetime:
    """Start of assessment month (year, month): day `start_day` of the previous calendar month
    when the window does not start on the 1st."""
    if start_day == 1:
        return datetime(year, month, 1, tzinfo=TZ)
    year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return datetime(year, month, start_day, tzinfo=TZ)


def window(period: Period, start_day: int) -> tuple[datetime, datetime]:
    """[start, end) of the period in Asia/Shanghai."""
    first, last = period.months()
    end_year, end_month = (period.year, last + 1) if last < 12 else (period.year + 1, 1)
    return _month_start(period.year, first, start_day), _month_start(end_year, end_month, start_day)


def containing(kind: str, at: datetime, start_day: int) -> Period:
    """The period of `kind` whose window contains `at`."""
    local = at.astimezone(TZ)
    year, month = local.year, local.month
    if start_day > 1 and local.day >= start_day:  # from the start day on it is next month's window
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return {"month": Period("month", year, month), "quarter": Period("quarter", year, (month + 2) // 3),
            "year": Period("year", year)}[kind]


def shift(period: Period, steps: int) -> Period:
    """The period `steps` periods later (earlier when negative)."""
    if period.kind == "year":
        return Period("year", period.year + steps)
    size = 12 if period.kind == "month" else 4
    n = period.year * size + period.index - 1 + steps
    return Period(period.kind, n // size, n % size + 1)


def default_period(now: datetime, start_day: int, kind: str = "month") -> Period:
    """The last complete period of `kind` (last month by default)."""
    return shift(containing(kind, now, start_day), -1)


# -- counts, figures, ranking ----------------------------------------------------------------

@dataclass
class Counts:
    received: int = 0
    late_sign: int = 0
    returned: int = 0
    handled: int = 0
    closed: int = 0
    on_time: int = 0
    late: int = 0
    extended: int = 0
    rehandled: int = 0
    valid: int = 0
    contacted: int = 0
    resolved: int = 0
    satisfied: int = 0
    basically: int = 0
    dissatisfied: int = 0
    explained: int = 0
    rejected: int = 0
    urged: int = 0
    visit_problems: int = 0
    co_received: int = 0
    co_late: int = 0
    co_returned: int = 0
    contact_due: int = 0
    late_contact: int = 0
    open_late: int = 0
    visited: int = 0

    def add(self, other: "Counts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class AppealFacts:
    """What evaluation needs to know of one appeal (one row of the hand-made test set)."""
    appeal_id: int
    lead_unit_id: int | None
    outcome: str  # open | closed | terminated
    satisfaction: str | None = None
    resolved: bool | None = None
    rehandle_count: int = 0
    leads: tuple[tuple[int, bool], ...] = ()  # (unit id, row still active) per lead AppealUnit row
    late_sign_units: frozenset = frozenset()  # units with a sign-for OverdueRecord
    late_handling: bool = False
    extended: bool = False
    contacted: bool = False
    explained: bool = False  # a result "explained, not solvable at present"
    rejected: bool = False  # a reply sent back by the closure review
    urged: bool = False  # the appellant rang again about it (催办)
    visit_problem: bool = False  # a return visit found a problem (Art. 23)
    co_units: frozenset = frozenset()  # units named co-organizers
    co_late_units: frozenset = frozenset()  # co-organizers with a co_feedback OverdueRecord
    co_returned_units: frozenset = frozenset()  # co-organizers that returned their part
    contact_limit: bool = False  # a first-contact limit was set (first_contact_due_at)
    late_contact: bool = False  # a first_contact OverdueRecord
    open_late: bool = False  # still open past its handling deadline at "as of", no handling record yet


def tally(facts) -> dict[int, Counts]:
    """Counts per unit from appeal facts (the definitions in the module docstring)."""
    by_unit: dict[int, Counts] = {}
    for a in facts:
        if a.outcome == "terminated":
            continue
        for unit in {u for u, _active in a.leads}:
            c = by_unit.setdefault(unit, Counts())
            c.received += 1
            c.late_sign += unit in a.late_sign_units
            c.returned += any(u == unit and not active for u, active in a.leads)
        for unit in a.co_units:
            c = by_unit.setdefault(unit, Counts())
            c.co_received += 1
            c.co_late += unit in a.co_late_units
            c.co_returned += unit in a.co_returned_units
        if a.lead_unit_id is None:
            continue
        c = by_unit.setdefault(a.lead_unit_id, Counts())
        closed = a.outcome == "closed"
        valid = a.satisfaction in VALID_EVALUATIONS
        c.handled += 1
        c.closed += closed
        c.on_time += closed and not a.late_handling
        c.late += a.late_handling
        c.extended += a.extended
        c.rehandled += a.rehandle_count > 0
        c.valid += valid
        c.contacted += valid and a.contacted
        c.resolved += valid and a.resolved is True
        c.satisfied += a.satisfaction == "satisfied"
        c.basically += a.satisfaction == "basically_satisfied"
        c.dissatisfied += a.satisfaction == "dissatisfied"
        c.explained += a.explained
        c.urged += a.urged
        c.visit_problems += a.visit_problem
        c.rejected += a.rejected
        c.contact_due += a.contact_limit
        c.late_contact += a.contact_limit and a.late_contact
        c.open_late += not closed and not a.late_handling and a.open_late
        c.visited += closed and a.satisfaction is not None
    return by_unit


def _ratio(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Indicator:
    """One appraisal indicator: its names, the regulation article, the formula as shown on the
    page, and numerator / denominator over Counts (the config for the satisfaction factor).
    `weight`: its key in the composite's weights, or the deduction key; `drill`: the metric
    whose appeals explain it (hotline.evaluation_report.DRILL_METRICS)."""
    key: str
    zh: str
    en: str
    article: str
    formula_zh: str
    formula_en: str
    numerator: object
    denominator: object
    weight: str | None = None
    deduction: str | None = None
    drill: str | None = None


INDICATORS = (
    Indicator("sign_for_rate", "签收及时率", "Signed for on time", "第十七条",
              "（派给本单位 − 签收超期）÷ 派给本单位", "(received − signed late) ÷ received",
              lambda c, _f: c.received - c.late_sign, lambda c: c.received, weight="sign_for", drill="late_sign"),
    Indicator("contact_rate", "先行联系率", "First contact on time", "第二十条",
              "（有首次联系时限 − 首次联系超期）÷ 有首次联系时限", "(with a first-contact limit − contacted late) ÷ with a limit",
              lambda c, _f: c.contact_due - c.late_contact, lambda c: c.contact_due, weight="contact",
              drill="late_contact"),
    Indicator("completion_rate", "办结率", "Completed", "第二十条",
              "已办结 ÷ 本单位办理", "closed ÷ handled",
              lambda c, _f: c.closed, lambda c: c.handled, weight="completed", drill="open"),
    Indicator("on_time_rate", "按时办结率", "Completed on time", "第二十条",
              "按时办结 ÷（按时办结 + 办理超期 + 未办结已过期限）",
              "closed on time ÷ (closed on time + late + still open past the deadline)",
              lambda c, _f: c.on_time, lambda c: c.on_time + c.late + c.open_late, weight="on_time", drill="late"),
    Indicator("visit_rate", "回访率", "Return visits done", "第二十一条",
              "已回访 ÷ 已办结", "visited ÷ closed",
              lambda c, _f: c.visited, lambda c: c.closed, weight="visit", drill="not_visited"),
    Indicator("resolution_rate", "解决率", "Resolved", "第二十三条",
              "已解决 ÷ 有效回访", "resolved ÷ valid return visits",
              lambda c, _f: c.resolved, lambda c: c.valid, weight="resolution", drill="unresolved"),
    Indicator("satisfaction_rate", "满意率", "Satisfied", "第二十三条",
              "（满意 + 系数 × 基本满意）÷ 有效回访", "(satisfied + factor × basically satisfied) ÷ valid return visits",
              lambda c, f: c.satisfied + f * c.basically, lambda c: c.valid, weight="satisfaction",
              drill="dissatisfied"),
    Indicator("return_rate", "退单率", "Returned", "第十九条",
              "退回 ÷ 派给本单位（扣分）", "returned ÷ received (a deduction)",
              lambda c, _f: c.returned, lambda c: c.received, deduction="returned", drill="returned"),
    Indicator("overdue_rate", "超期率", "Overdue", "第二十条",
              "（办理超期 + 未办结已过期限）÷ 本单位办理（扣分）", "(late + still open past the deadline) ÷ handled (a deduction)",
              lambda c, _f: c.late + c.open_late, lambda c: c.handled, deduction="overdue", drill="late"),
)
INDICATOR = {i.key: i for i in INDICATORS}


def figures(c: Counts, config: Config) -> dict:
    """The rates (fractions 0-1, None without a denominator) and the composite score (0-100)."""
    factor = config.basically_satisfied_factor
    result = {"volume": c.received}
    for indicator in INDICATORS:
        result[indicator.key] = _ratio(indicator.numerator(c, factor), indicator.denominator(c))
    result.update({
        "extension_rate": _ratio(c.extended, c.handled),
        "rehandle_rate": _ratio(c.rehandled, c.handled),
        "closure_rejection_rate": _ratio(c.rejected, c.handled),
        "not_solvable": c.explained,
        "co_on_time_rate": _ratio(c.co_received - c.co_late, c.co_received),
        "urge_rate": _ratio(c.urged, c.handled),
        "visit_problems": c.visit_problems,
        "response_rate": _ratio(c.contacted, c.valid),
    })
    result["score"] = score(result, config) if c.valid else None
    return result


def score(values: dict, config: Config) -> float:
    """The composite (module docstring) of figures that have their rates."""
    weighted = [(config.weight(i.weight), values[i.key]) for i in INDICATORS
                if i.weight and values[i.key] is not None]
    total_weight = sum(w for w, _v in weighted)
    base = 100 * sum(w * v for w, v in weighted) / total_weight if total_weight else 0.0
    deduction = sum(100 * d * (values[i.key] or 0) for i in INDICATORS if i.deduction
                    for d in (config.deductions[DEDUCTION_KEYS.index(i.deduction)],))
    return round(max(base - deduction, 0.0), 2)


@dataclass
class UnitRow:
    unit_id: int
    name: str
    counts: Counts
    figures: dict
    rank: int | None = None
    extra: dict = field(default_factory=dict)


def rank(rows: list[UnitRow], config: Config) -> list[UnitRow]:
    """Assign ranks (see the module docstring); returns the ranked rows first, best first,
    then the unranked ones by volume."""
    eligible = [r for r in rows if r.figures["score"] is not None and r.counts.valid >= config.min_valid_visits]
    eligible.sort(key=lambda r: (-r.figures["score"], -r.counts.received, r.name))
    previous = None
    for position, row in enumerate(eligible, start=1):
        key = (row.figures["score"], row.counts.received)
        row.rank = previous[1] if previous and previous[0] == key else position
        previous = (key, row.rank)
    others = sorted((r for r in rows if r not in eligible), key=lambda r: (-r.counts.received, r.name))
    for row in others:
        row.rank = None
    return eligible + others


def honour_lists(ranked: list[UnitRow], config: Config) -> dict[str, list[UnitRow]]:
    """Red list, black list (worst first) and commendations out of rows sorted by `rank`."""
    placed = [r for r in ranked if r.rank is not None]
    red = placed[:config.red_list_size]
    black = [r for r in reversed(placed) if r not in red][:config.black_list_size]
    commended = [r for r in placed if r.figures["score"] >= config.commendation_min_score
                 and r.counts.received >= config.commendation_min_volume][:config.commendation_size]
    return {"red": red, "black": black, "commended": commended}
