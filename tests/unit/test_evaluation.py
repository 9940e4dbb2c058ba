"""Unit evaluation formulas (hotline/evaluation.py, Art. 25, 26, 28) on a hand-made data set; every
expected number is worked out by hand in the comments next to it."""
from datetime import datetime

import pytest

from hotline import evaluation as ev
from runtime.errors import InvalidInput, ProcessError
from workdays.calendar import TZ

A, B, C = 1, 2, 3
F = ev.AppealFacts

# The hand-made data set. Unit A handles a1-a4 and a6 and returned a5, which B now handles.
DATA = [
    F(101, A, "closed", "satisfied", True, leads=((A, True),), contacted=True),
    F(102, A, "closed", "basically_satisfied", True, leads=((A, True),), contacted=True, late_handling=True,
      extended=True),
    F(103, A, "closed", "dissatisfied", False, rehandle_count=1, leads=((A, True),)),
    F(104, A, "open", leads=((A, True),), late_sign_units=frozenset({A}), late_handling=True),
    F(105, B, "closed", "satisfied", True, leads=((A, False), (B, True)), contacted=True),
    F(106, A, "closed", "no_evaluation", None, leads=((A, True),), contacted=True),
    F(201, B, "closed", "satisfied", True, leads=((B, True),), contacted=True),
    F(202, B, "closed", "basically_satisfied", True, leads=((B, True),), contacted=True,
      late_sign_units=frozenset({B})),
    F(203, B, "terminated", "dissatisfied", False, leads=((B, True),), late_handling=True),  # left out
    F(301, C, "closed", "satisfied", True, leads=((C, True),), contacted=True),
    F(401, None, "closed", "satisfied", True),  # answered on the spot: nobody's
]
CONFIG = ev.Config(red_list_size=1, black_list_size=1, commendation_size=3, commendation_min_score=90,
                   commendation_min_volume=2)


def test_counts_by_hand():
    counts = ev.tally(DATA)
    assert set(counts) == {A, B, C}
    # A: received a1-a6 (6); a4 signed late (1); a5 returned (1); handles a1-a4, a6 (5); closed a1-a3, a6 (4);
    # late a2, a4 (2); on time = closed and not late: a1, a3, a6 (3); valid visits a1-a3 (3, a6 gave none);
    # contacted among valid a1, a2 (a6 is contacted but not a valid visit); resolved a1, a2.
    assert counts[A] == ev.Counts(received=6, late_sign=1, returned=1, handled=5, closed=4, on_time=3, late=2,
                                  extended=1, rehandled=1, valid=3, contacted=2, resolved=2, satisfied=1,
                                  basically=1, dissatisfied=1, visited=4)  # visited: closed a1-a3, a6
    # B: received a5, b1, b2 (b3 terminated); b2 signed late; all three closed on time, valid, contacted, resolved.
    assert counts[B] == ev.Counts(received=3, late_sign=1, handled=3, closed=3, on_time=3, valid=3, contacted=3,
                                  resolved=3, satisfied=2, basically=1, visited=3)


def test_figures_by_hand():
    counts = ev.tally(DATA)
    a = ev.figures(counts[A], CONFIG)
    assert a["volume"] == 6
    assert a["sign_for_rate"] == pytest.approx(5 / 6)  # (6 − 1) / 6
    assert a["on_time_rate"] == pytest.approx(0.6)  # 3 / (3 + 2)
    assert a["return_rate"] == pytest.approx(1 / 6)
    assert a["extension_rate"] == pytest.approx(0.2)  # 1 / 5 handled
    assert a["rehandle_rate"] == pytest.approx(0.2)
    assert a["response_rate"] == pytest.approx(2 / 3)
    assert a["resolution_rate"] == pytest.approx(2 / 3)
    assert a["satisfaction_rate"] == pytest.approx(1.9 / 3)  # (1 + 0.9 × 1) / 3 = 0.6333
    assert a["completion_rate"] == pytest.approx(0.8)  # closed 4 / handled 5
    assert a["visit_rate"] == 1  # visited 4 / closed 4
    assert a["contact_rate"] is None  # no first-contact limit in this set: drops out of the composite
    assert a["overdue_rate"] == pytest.approx(0.4)  # (late 2 + open late 0) / 5
    # weighted, contact left out (weights 0.9): 0.1 × 0.8333 + 0.1 × 0.8 + 0.15 × 0.6 + 0.05 × 1 + 0.25 × 0.6667
    # + 0.25 × 0.6333 = 0.62833; / 0.9 = 69.815; minus 10 × 1/6 (returns) = 1.667 and 10 × 0.4 (overdue) = 4
    # → 64.148
    assert a["score"] == 64.15
    b = ev.figures(counts[B], CONFIG)
    assert b["sign_for_rate"] == pytest.approx(2 / 3)
    assert (b["on_time_rate"], b["return_rate"], b["extension_rate"], b["response_rate"]) == (1, 0, 0, 1)
    assert b["satisfaction_rate"] == pytest.approx(2.9 / 3)  # (2 + 0.9) / 3 = 0.9667
    # (0.1 × 0.6667 + 0.1 + 0.15 + 0.05 + 0.25 + 0.25 × 0.9667) / 0.9 = 0.85833 / 0.9 = 95.370, nothing deducted
    assert b["score"] == 95.37
    assert ev.figures(counts[C], CONFIG)["score"] == 100


def test_weights_come_from_the_configuration():
    counts = ev.tally(DATA)[A]
    # resolution only, no deductions: 100 × 2/3
    assert ev.figures(counts, ev.Config(weights=(0, 0, 0, 0, 0, 1, 0), deductions=(0, 0)))["score"] == 66.67
    # timeliness only (completed on time): 100 × 0.6, minus 10 × 1/6 returns and 10 × 0.4 overdue = 54.33
    assert ev.figures(counts, ev.Config(weights=(0, 0, 0, 1, 0, 0, 0)))["score"] == 54.33
    # factor 0.5: satisfaction (1 + 0.5) / 3 = 0.5
    assert ev.figures(counts, ev.Config(basically_satisfied_factor=0.5))["satisfaction_rate"] == pytest.approx(0.5)


def test_no_denominator_gives_no_figure():
    empty = ev.figures(ev.Counts(), CONFIG)
    assert empty["volume"] == 0
    assert all(empty[k] is None for k in (*ev.RATES, "score"))


def _rows(counts):
    return [ev.UnitRow(u, name, counts.get(u, ev.Counts()), ev.figures(counts.get(u, ev.Counts()), CONFIG))
            for u, name in ((A, "甲单位"), (B, "乙单位"), (C, "丙单位"), (4, "丁单位"))]


def test_ranking_red_black_and_commendation():
    ranked = ev.rank(_rows(ev.tally(DATA)), CONFIG)
    # C 100 > B 95.37 > A 64.15; unit 4 has no valid visit and is not ranked
    assert [(r.name, r.rank) for r in ranked] == [("丙单位", 1), ("乙单位", 2), ("甲单位", 3), ("丁单位", None)]
    lists = ev.honour_lists(ranked, CONFIG)
    assert [r.name for r in lists["red"]] == ["丙单位"]
    assert [r.name for r in lists["black"]] == ["甲单位"]
    # C scores 100 but its volume 1 is under min_volume 2; B 95.37 ≥ 90 with volume 3; A under 90
    assert [r.name for r in lists["commended"]] == ["乙单位"]


def test_ties_broken_by_volume_then_shared():
    same = ev.Counts(received=5, valid=1, contacted=1, resolved=1, satisfied=1)
    bigger = ev.Counts(received=9, valid=1, contacted=1, resolved=1, satisfied=1)
    rows = _rows({A: same, B: bigger, C: same})
    ranked = ev.rank(rows, CONFIG)
    # all score 100: B first by volume 9; A and C equal in score and volume share rank 2 (listed by name:
    # 丙 before 甲); then 4 (no rank)
    assert [(r.unit_id, r.rank) for r in ranked] == [(B, 1), (C, 2), (A, 2), (4, None)]


def test_min_valid_visits():
    ranked = ev.rank(_rows(ev.tally(DATA)), ev.Config(min_valid_visits=2))
    assert [r.name for r in ranked if r.rank] == ["乙单位", "甲单位"]  # C has one valid visit only


def test_black_list_never_repeats_the_red_list():
    ranked = ev.rank(_rows(ev.tally(DATA)), CONFIG)
    lists = ev.honour_lists(ranked, ev.Config(red_list_size=3, black_list_size=3))
    assert [r.name for r in lists["red"]] == ["丙单位", "乙单位", "甲单位"]
    assert lists["black"] == []


@pytest.mark.parametrize("start_day, key, start, end", [
    (1, "2026-10", (2026, 10, 1), (2026, 11, 1)),
    (19, "2026-10", (2026, 9, 19), (2026, 10, 19)),  # the 19th of the previous month to the 18th
    (19, "2026-01", (2025, 12, 19), (2026, 1, 19)),
    (1, "2026-12", (2026, 12, 1), (2027, 1, 1)),
    (1, "2026-Q4", (2026, 10, 1), (2027, 1, 1)),
    (19, "2026-Q1", (2025, 12, 19), (2026, 3, 19)),
    (19, "2026", (2025, 12, 19), (2026, 12, 19)),
])
def test_windows(start_day, key, start, end):
    assert ev.window(ev.parse_period(key), start_day) == (datetime(*start, tzinfo=TZ), datetime(*end, tzinfo=TZ))


@pytest.mark.parametrize("start_day, at, kind, expected", [
    (1, (2026, 11, 30, 21), "month", "2026-10"),  # last month
    (19, (2026, 11, 30, 21), "month", "2026-11"),  # 30 Nov is in December's window; November ran 10-19..11-18
    (19, (2026, 11, 18, 23), "month", "2026-10"),
    (1, (2026, 2, 10), "quarter", "2025-Q4"),
    (1, (2026, 2, 10), "year", "2025"),
])
def test_default_period_is_the_last_complete_one(start_day, at, kind, expected):
    assert ev.default_period(datetime(*at, tzinfo=TZ), start_day, kind).key == expected


def test_shift():
    assert ev.shift(ev.parse_period("2026-01"), -1).key == "2025-12"
    assert ev.shift(ev.parse_period("2026-Q1"), -5).key == "2024-Q4"
    assert ev.shift(ev.parse_period("2026"), 2).key == "2028"


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "26-10", "2026-1x", "1999", "abcd"])
def test_bad_periods(text):
    with pytest.raises(InvalidInput):
        ev.parse_period(text)


def test_configuration(tmp_path):
    config = ev.load_config()
    assert config.weights == (0.1, 0.1, 0.1, 0.15, 0.05, 0.25, 0.25) and config.basically_satisfied_factor == 0.9
    assert config.weight("on_time") == 0.15 and config.deductions == (0.1, 0.1)
    bad = tmp_path / "evaluation.yaml"
    bad.write_text("weights: {resolution: 0.5, satisfaction: 0.5}\n", encoding="utf-8")  # + 0.5 of the defaults
    with pytest.raises(ProcessError, match="add up to 1"):
        ev.load_config(bad)
    bad.write_text("weights: {response: 1}\n", encoding="utf-8")  # the old key: said, not silently ignored
    with pytest.raises(ProcessError, match="unknown weights"):
        ev.load_config(bad)
    bad.write_text("deductions: {overdue: 2}\n", encoding="utf-8")
    with pytest.raises(ProcessError, match="deductions"):
        ev.load_config(bad)
    bad.write_text("window_start_day: 31\n", encoding="utf-8")
    with pytest.raises(ProcessError, match="window_start_day"):
        ev.load_config(bad)
    good = tmp_path / "ok.yaml"
    good.write_text("window_start_day: 19\ncommendation: {size: 1}\n", encoding="utf-8")
    assert ev.load_config(good).window_start_day == 19 and ev.load_config(good).commendation_size == 1


def test_an_appeal_open_past_its_deadline_is_late_before_the_timer_says_so():
    facts = [F(1, A, "closed", "satisfied", True, leads=((A, True),)),
             F(2, A, "open", leads=((A, True),), open_late=True),  # no handling record yet
             F(3, A, "open", leads=((A, True),), open_late=True, late_handling=True)]  # counted once, as late
    c = ev.tally(facts)[A]
    assert (c.on_time, c.late, c.open_late) == (1, 1, 1)
    figures = ev.figures(c, CONFIG)
    assert figures["on_time_rate"] == pytest.approx(1 / 3)  # 1 / (1 + 1 + 1)
    assert figures["overdue_rate"] == pytest.approx(2 / 3) and figures["completion_rate"] == pytest.approx(1 / 3)


def test_first_contact_on_time_counts_only_appeals_with_a_limit():
    facts = [F(1, A, "closed", leads=((A, True),), contact_limit=True),
             F(2, A, "closed", leads=((A, True),), contact_limit=True, late_contact=True),
             F(3, A, "closed", leads=((A, True),), late_contact=True)]  # no limit: neither on time nor late
    assert ev.figures(ev.tally(facts)[A], CONFIG)["contact_rate"] == pytest.approx(0.5)  # (2 − 1) / 2


def test_every_indicator_is_defined_once_with_its_article_weight_and_drill_down():
    from hotline.evaluation_report import DRILL_METRICS
    keys = [i.key for i in ev.INDICATORS]
    assert len(keys) == len(set(keys)) and set(keys) <= set(ev.RATES)
    assert {i.weight for i in ev.INDICATORS if i.weight} == set(ev.WEIGHT_KEYS)
    assert {i.deduction for i in ev.INDICATORS if i.deduction} == set(ev.DEDUCTION_KEYS)
    for i in ev.INDICATORS:
        assert i.article.startswith("第") and i.formula_zh and i.formula_en and i.drill in DRILL_METRICS, i.key
