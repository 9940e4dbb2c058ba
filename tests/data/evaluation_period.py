"""A hand-computed evaluation period (issue 16, Art. 25-28): August 2019, three units in three
centres, every indicator of each unit worked out by hand below. `load(db)` stores the appeals as
direct rows (as the timers, the engine and the return visits would have left them: lead
AppealUnit rows, OverdueRecords, deadlines, evaluations) and two accountability records, and
returns the unit and centre ids. Every deadline lies in 2019, so an appeal still open is past its
handling deadline whenever the test runs: the figures do not depend on the day.

Units and the centres holding their appeals:
  A gl_urban 鼓楼区城市管理局   appeals held by the Fuzhou centre (fz; Gulou has no centre of its own)
  B xm_env   厦门市生态环境局   held by the Xiamen centre (xm)
  C sm_gov   思明区人民政府     held by the Siming centre (sm, under xm)

Appeals (type; outcome; evaluation; resolved; flags). "limit": a first-contact limit was set;
"late contact" / "late sign" / "late": a first_contact / sign_for / handling OverdueRecord;
"open past due": still open, handling deadline passed, no handling record yet.
  a1 complaint     closed  satisfied            yes  limit
  a2 complaint     closed  basically satisfied  yes  limit, late contact
  a3 complaint     closed  dissatisfied         no   limit, late (closed after its deadline)
  a4 consultation  open    -                    -    limit, late contact, late sign, open past due
  a5 consultation  closed  no evaluation        -    limit
  a6 complaint     closed  (not visited)        -    first dispatched to B, B returned it, A handles it
  b1 complaint     closed  satisfied            yes  limit
  b2 complaint     closed  satisfied            yes  limit
  b3 suggestion    closed  satisfied            yes  (no first-contact limit)
  b4 suggestion    closed  basically satisfied  yes  limit, late sign
  b5 complaint     closed  satisfied            yes  limit
  c1 help          closed  satisfied            yes  limit, late
  c2 help          open    -                    -    late (the timer wrote its record)
  c3 consultation  closed  dissatisfied         no   limit, late contact

Counts (V received, Ls late sign, Rt returned, H handled, closed, on_time = closed and not late,
Lh late, Lo open past due, Cd with a contact limit, Lc late contact, R valid visits, Rs resolved,
S / B / D, Vd visited = closed with any evaluation):
  A  V 6 (a1-a6)  Ls 1 (a4)  Rt 0  H 6  closed 5 (a1-a3, a5, a6)  on_time 4 (a1, a2, a5, a6)  Lh 1 (a3)
     Lo 1 (a4)  Cd 5 (a1-a5)  Lc 2 (a2, a4)  R 3 (a1-a3)  Rs 2  S 1 B 1 D 1  Vd 4 (a1-a3, a5)
  B  V 6 (b1-b5, a6)  Ls 1 (b4)  Rt 1 (a6)  H 5  closed 5  on_time 5  Lh 0  Lo 0  Cd 4 (b1, b2, b4, b5)
     Lc 0  R 5  Rs 5  S 4 B 1  Vd 5
  C  V 3  Ls 0  Rt 0  H 3  closed 2 (c1, c3)  on_time 1 (c3)  Lh 2 (c1, c2)  Lo 0  Cd 2 (c1, c3)
     Lc 1 (c3)  R 2 (c1, c3)  Rs 1  S 1 D 1  Vd 2

Indicators (hotline.evaluation.INDICATORS), weights 0.10 / 0.10 / 0.10 / 0.15 / 0.05 / 0.25 / 0.25,
deductions 10 points × rate for returns and for overdue:
  A  sign-for (6 − 1) / 6 = 0.8333   contact (5 − 2) / 5 = 0.6     completed 5 / 6 = 0.8333
     on time 4 / (4 + 1 + 1) = 0.6667   visits 4 / 5 = 0.8    resolved 2 / 3 = 0.6667
     satisfied (1 + 0.9 × 1) / 3 = 0.6333   returns 0 / 6 = 0   overdue (1 + 1) / 6 = 0.3333
     weighted 0.08333 + 0.06 + 0.08333 + 0.1 + 0.04 + 0.16667 + 0.15833 = 0.69167 → 69.167
     − 10 × 0.3333 = 3.333 → 65.83
  B  sign-for 5 / 6 = 0.8333   contact 4 / 4 = 1   completed 5 / 5 = 1   on time 5 / 5 = 1   visits 5 / 5 = 1
     resolved 5 / 5 = 1   satisfied (4 + 0.9) / 5 = 0.98   returns 1 / 6 = 0.1667   overdue 0 / 5 = 0
     weighted 0.08333 + 0.1 + 0.1 + 0.15 + 0.05 + 0.25 + 0.245 = 0.97833 → 97.833 − 10 × 0.1667 = 1.667 → 96.17
  C  sign-for 3 / 3 = 1   contact (2 − 1) / 2 = 0.5   completed 2 / 3 = 0.6667   on time 1 / (1 + 2 + 0) = 0.3333
     visits 2 / 2 = 1   resolved 1 / 2 = 0.5   satisfied 1 / 2 = 0.5   returns 0   overdue 2 / 3 = 0.6667
     weighted 0.1 + 0.05 + 0.06667 + 0.05 + 0.05 + 0.125 + 0.125 = 0.56667 → 56.667 − 6.667 → 50.00
Province ranking: B 96.17 (1), A 65.83 (2), C 50.00 (3). Commended (score ≥ 90, volume ≥ 5): B, whose
leader is named.

Xiamen centre (xm and sm below it): only the appeals held there, so a6 (held by Fuzhou) is not B's:
  B  V 5  Ls 1  Rt 0: sign-for 4 / 5 = 0.8, the rest as above, returns 0:
     0.08 + 0.1 + 0.1 + 0.15 + 0.05 + 0.25 + 0.245 = 0.975 → 97.50 (1);  C 50.00 (2); A not listed.
Siming centre: C alone, 50.00 (1).

Within each appeal type (province):
  complaint  B (b1, b2, b5; received a6 too and returned it): V 4, Rt 1, all else 1 → 100 − 10 × 1/4 = 97.50 (1)
             A (a1, a2, a3, a6): sign-for 1, contact 2/3, completed 1, on time 3 / (3 + 1) = 0.75,
             visits 3 / 4 = 0.75, resolved 2/3, satisfied 1.9 / 3 = 0.6333, overdue 1 / 4 = 0.25:
             0.1 + 0.06667 + 0.1 + 0.1125 + 0.0375 + 0.16667 + 0.15833 = 0.74167 → 74.17 − 2.5 → 71.67 (2)
  consultation  C (c3): 0.1 + 0 + 0.1 + 0.15 + 0.05 + 0 + 0 = 0.4 → 40.00 (1); A (a4, a5): no valid visit, unranked
  suggestion B (b3, b4): sign-for 1 / 2 (b4 late), contact 1 / 1 (b3 has no limit), completed, on time, visits,
             resolved 1, satisfied (1 + 0.9) / 2 = 0.95:
             0.05 + 0.1 + 0.1 + 0.15 + 0.05 + 0.25 + 0.2375 = 0.9375 → 93.75 (1)
  help       C: c1, c2 → sign 1, contact 1, completed 1/2, on time 0 / 2, visits 1, resolved 1,
             satisfied 1, overdue 2 / 2: 0.1 + 0.1 + 0.05 + 0 + 0.05 + 0.25 + 0.25 = 0.8 → 80 − 10 → 70.00 (1)

People named in the period: the leader of B (commended, Art. 28); dispatcher1 (staff, Art. 29, record r1);
the leader of C (unit, Art. 30, record r2 about c2, held by Siming). The Xiamen centre's list names B's
leader and C's leader, not dispatcher1 (a provincial-centre staff member, no appeal of Xiamen's).
"""
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.models import (
    AccountabilityRecord,
    Appeal,
    AppealUnit,
    Centre,
    OrganizerUnit,
    OverdueRecord,
    User,
)
from workdays.calendar import TZ

PERIOD = "2019-08"
START = datetime(2019, 8, 5, 9, tzinfo=TZ)
UNITS = {"A": "gl_urban", "B": "xm_env", "C": "sm_gov"}
CENTRES = {"A": "fz", "B": "xm", "C": "sm"}
# key: (unit, type, outcome, evaluation, resolved, flags); flags as in the module docstring
APPEALS = {
    "a1": ("A", "complaint", "closed", "satisfied", True, {"limit"}),
    "a2": ("A", "complaint", "closed", "basically_satisfied", True, {"limit", "late_contact"}),
    "a3": ("A", "complaint", "closed", "dissatisfied", False, {"limit", "late"}),
    "a4": ("A", "consultation", "open", None, None, {"limit", "late_contact", "late_sign"}),
    "a5": ("A", "consultation", "closed", "no_evaluation", None, {"limit"}),
    "a6": ("A", "complaint", "closed", None, None, {"returned_by_B"}),
    "b1": ("B", "complaint", "closed", "satisfied", True, {"limit"}),
    "b2": ("B", "complaint", "closed", "satisfied", True, {"limit"}),
    "b3": ("B", "suggestion", "closed", "satisfied", True, set()),
    "b4": ("B", "suggestion", "closed", "basically_satisfied", True, {"limit", "late_sign"}),
    "b5": ("B", "complaint", "closed", "satisfied", True, {"limit"}),
    "c1": ("C", "help", "closed", "satisfied", True, {"limit", "late"}),
    "c2": ("C", "help", "open", None, None, {"late"}),
    "c3": ("C", "consultation", "closed", "dissatisfied", False, {"limit", "late_contact"}),
}

# -- the expected figures, as worked out in the module docstring --------------------------------
INDICATORS = {
    "A": {"sign_for_rate": 5 / 6, "contact_rate": 3 / 5, "completion_rate": 5 / 6, "on_time_rate": 4 / 6,
          "visit_rate": 4 / 5, "resolution_rate": 2 / 3, "satisfaction_rate": 1.9 / 3, "return_rate": 0,
          "overdue_rate": 2 / 6},
    "B": {"sign_for_rate": 5 / 6, "contact_rate": 1, "completion_rate": 1, "on_time_rate": 1, "visit_rate": 1,
          "resolution_rate": 1, "satisfaction_rate": 4.9 / 5, "return_rate": 1 / 6, "overdue_rate": 0},
    "C": {"sign_for_rate": 1, "contact_rate": 1 / 2, "completion_rate": 2 / 3, "on_time_rate": 1 / 3,
          "visit_rate": 1, "resolution_rate": 1 / 2, "satisfaction_rate": 1 / 2, "return_rate": 0,
          "overdue_rate": 2 / 3},
}
VOLUME = {"A": 6, "B": 6, "C": 3}
SCORE = {"A": 65.83, "B": 96.17, "C": 50.00}
RANK = {"B": 1, "A": 2, "C": 3}
XIAMEN = {"B": (97.50, 1), "C": (50.00, 2)}  # (score, rank) in the Xiamen centre's evaluation
SIMING = {"C": (50.00, 1)}
BY_TYPE = {"complaint": [("B", 1, 97.50), ("A", 2, 71.67)], "consultation": [("C", 1, 40.00), ("A", None, None)],
           "suggestion": [("B", 1, 93.75)], "help": [("C", 1, 70.00)]}
PEOPLE = [("commendation", "厦门市生态环境局 负责人"), ("accountability", "派单员 王强"),
          ("accountability", "思明区人民政府 负责人")]
XIAMEN_PEOPLE = [("commendation", "厦门市生态环境局 负责人"), ("accountability", "思明区人民政府 负责人")]


def load(db) -> dict:
    """Store the period once; returns {"units": {A: id, ...}, "centres": {A: id, ...}, "appeals": {a1: id}}."""
    with db.transaction() as session:
        units = {k: session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == code))
                 for k, code in UNITS.items()}
        centres = {k: session.scalar(select(Centre.id).where(Centre.code == code)) for k, code in CENTRES.items()}
        existing = session.scalar(select(Appeal.id).where(Appeal.number == f"FJ{START:%Y%m%d}-870001"))
        if existing is None:
            appeals = _store(session, units, centres)
        else:
            appeals = {key: session.scalar(select(Appeal.id).where(Appeal.number == _number(n)))
                       for n, key in enumerate(APPEALS, start=1)}
    return {"units": units, "centres": centres, "appeals": appeals}


def _number(n: int) -> str:
    return f"FJ{START:%Y%m%d}-{870000 + n:06d}"


def _store(session, units, centres) -> dict:
    people = dict(session.execute(select(User.username, User.id)).all())
    stored = {}
    for n, (key, (unit, kind, outcome, evaluation, resolved, flags)) in enumerate(APPEALS.items(), start=1):
        at = START + timedelta(hours=7 * n)
        closed = outcome == "closed"
        appeal = Appeal(number=_number(n), appeal_type=kind, channel="phone",
                        status="archived" if closed else "handling", title=f"考核期样例{key}", content="样例",
                        accepted_at=at, dispatched_at=at + timedelta(hours=1),
                        closed_at=at + timedelta(days=12 if "late" in flags else 5) if closed else None,
                        lead_unit_id=units[unit], centre_id=centres[unit], origin_centre_id=centres[unit],
                        satisfaction=evaluation, resolved=resolved, rehandle_count=0,
                        sign_for_due_at=at + timedelta(days=1), handling_due_at=at + timedelta(days=10),
                        first_contact_due_at=at + timedelta(days=2) if "limit" in flags else None)
        session.add(appeal)
        session.flush()
        stored[key] = appeal.id
        if "returned_by_B" in flags:
            session.add(AppealUnit(appeal_id=appeal.id, unit_id=units["B"], role="lead", active=False))
        session.add(AppealUnit(appeal_id=appeal.id, unit_id=units[unit], role="lead", active=True))
        for flag, stage, days in (("late_sign", "sign_for", 1), ("late_contact", "first_contact", 2),
                                  ("late", "handling", 10)):
            if flag in flags:
                session.add(OverdueRecord(appeal_id=appeal.id, stage=stage, unit_id=units[unit],
                                          due_at=at + timedelta(days=days), recorded_at=at + timedelta(days=days)))
    owner = people["supervisor1"]
    session.add(AccountabilityRecord(subject="staff", user_id=people["dispatcher1"], article="29(1)",
                                     measure="批评教育", finding="派单错误，延误办理", created_by_id=owner,
                                     created_at=START + timedelta(days=10)))
    session.add(AccountabilityRecord(subject="unit", unit_id=units["C"], article="30(2)", measure="通报批评",
                                     finding="超期未办结", appeal_ids=[stored["c2"]], created_by_id=owner,
                                     created_at=START + timedelta(days=20)))
    return stored
