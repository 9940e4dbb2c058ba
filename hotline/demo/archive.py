"""DEMO DATA ONLY: a month of plausible closed appeals, so the evaluation page (Art. 25, 26) has
figures for last month right after `hotline load-demo`.

Driving ~700 appeals through the engine would take minutes, so the rows the evaluation reads
are inserted directly: archived appeals with their lead units (some returned by another unit
first), overdue records, the appellant's evaluation, and the history rows a run of the
repository's diagram leaves (dispatched, sign-for / reply / return-visit task completions with
the milestones they reach, extension decisions, re-handles, archived). A fixed seed gives the same month every time; each unit has its own quality so the
ranking has a top and a bottom. Demo appeals are numbered from 900001 in each day's sequence
(real numbering starts at 1 per day), which is also how a second load finds them.
"""
import random
from datetime import timedelta

from sqlalchemy import select

from runtime import clock, milestones
from runtime.models import HistoryEvent
from workdays.calendar import TZ

from .. import centres
from .. import evaluation as ev
from ..models import Appeal, AppealUnit, AppellantContact, OrganizerUnit, OverdueRecord, User

SEED = 12345
FIRST_NUMBER = 900_001
QUALITY = {"fj_gov": .95, "fz_gov": .9, "fz_housing": .55, "fz_market": .8, "fz_transport": .65, "gl_gov": .85,
           "gl_urban": .6, "tj_gov": .75, "xm_gov": .92, "xm_env": .7, "sm_gov": .88, "sm_market": .5}
TYPES = (("complaint", 10, 5), ("consultation", 2, 3), ("suggestion", 5, 1), ("help", 3, 1))  # type, days, weight
TITLES = ("夜间施工噪音扰民", "小区路灯损坏", "占道经营", "物业服务差", "垃圾清运不及时", "油烟扰民", "违章搭建",
          "井盖缺失", "公交站牌缺失", "商铺预付卡退费难", "医保报销咨询", "水压不足", "停车难", "楼道堆物")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"


def load(session) -> int:
    """Insert last month's demo appeals unless they are there; returns how many were added."""
    config = ev.load_config()
    now = clock.now()
    start, end = ev.window(ev.default_period(now, config.window_start_day), config.window_start_day)
    already = select(Appeal.id).where(Appeal.accepted_at >= start, Appeal.accepted_at < end,
                                      Appeal.number.like(f"%-{str(FIRST_NUMBER)[0]}_____")).limit(1)
    if session.scalar(already) is not None:
        return 0
    units = dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())
    # each appeal belongs to the centre that dispatched to its unit (the one whose region holds it)
    centre_of = {}
    for unit in session.scalars(select(OrganizerUnit)):
        covering = centres.covering(session, unit.region_id)
        centre_of[unit.id] = covering.id if covering else None
    people = dict(session.execute(select(User.username, User.id)).all())
    rng = random.Random(SEED)
    numbers: dict[str, int] = {}
    planned = []
    for code, quality in QUALITY.items():
        if code in units:
            planned += [(code, quality) for _ in range(rng.randint(30, 80))]
    appeals = []
    for code, quality in planned:
        accepted = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
        day = f"{accepted.astimezone(TZ):%Y%m%d}"
        numbers[day] = numbers.get(day, FIRST_NUMBER - 1) + 1
        appeal, children = _appeal(rng, code, quality, accepted, f"FJ{day}-{numbers[day]:06d}", units, people, now)
        appeal.centre_id = appeal.origin_centre_id = centre_of.get(appeal.lead_unit_id)
        appeals.append((appeal, children))
    session.add_all(a for a, _children in appeals)
    session.flush()
    for appeal, children in appeals:
        for child in children:
            if isinstance(child, HistoryEvent):
                child.business_key = appeal.id
            else:
                child.appeal_id = appeal.id
        session.add_all(children)
    session.flush()
    return len(appeals)


def _appeal(rng, code, quality, accepted, number, units, people, now):
    """One archived appeal of unit `code` and the rows that go with it (appeal ids set later)."""
    appeal_type, days, _w = rng.choices(TYPES, weights=[t[2] for t in TYPES])[0]
    lead = units[code]
    dispatched = accepted + timedelta(hours=rng.uniform(.5, 6))
    children, staff = [], people.get(f"{code}_staff")

    def event(action, at, step=None, actor=None, reached=(), **detail):
        """A history row; `step` names the task as history shows it (no diagram's element id)."""
        children.append(HistoryEvent(action=action, at=at, task_name=step, actor_id=actor, detail=detail or None))
        for name in reached:
            children.append(HistoryEvent(action=milestones.ACTION, at=at, task_name=step, actor_id=actor,
                                         detail={"milestone": name}))

    if rng.random() < .08 * (1.3 - quality):  # another unit had it first and returned it
        other = rng.choice([u for c, u in units.items() if c != code])
        children.append(AppealUnit(unit_id=other, role="lead", assigned_at=accepted, active=False))
        event("task_completed", dispatched, "签收或退回", reached=("returned",), sign_decision="return",
              return_reason="不属于本单位职责")
        dispatched += timedelta(hours=rng.uniform(2, 20))
    children.append(AppealUnit(unit_id=lead, role="lead", assigned_at=dispatched, active=True))
    event("dispatched", dispatched, lead_unit_id=lead, co_unit_ids=[])
    if rng.random() < .12 * (1.2 - quality):
        children.append(OverdueRecord(stage="sign_for", unit_id=lead, due_at=dispatched + timedelta(days=1),
                                      recorded_at=dispatched + timedelta(days=1)))
    event("task_completed", dispatched + timedelta(hours=rng.uniform(.2, 30)), "签收或退回", staff,
          reached=("signed_for",), sign_decision="sign")
    due = dispatched + timedelta(days=days * 1.4)
    extension = 0
    if appeal_type == "complaint" and rng.random() < .15 * (1.2 - quality):
        extension = rng.choice((2, 3, 5))
        due += timedelta(days=extension * 1.4)
        event("extension_decided", dispatched + timedelta(days=days), consented=True, approved=True, days=extension)
    late = rng.random() < .2 * (1.2 - quality)
    replied = due + timedelta(hours=rng.uniform(4, 72)) if late else dispatched + (due - dispatched) * rng.uniform(.2, .95)
    if late:
        children.append(OverdueRecord(stage="handling", unit_id=lead, due_at=due, recorded_at=due))
    reached = rng.random() < .7 + .3 * quality
    event("task_completed", replied, "答复诉求人", staff, reached=("replied", "appellant_contacted") if reached
          else ("replied",), reply_method="phone", appellant_reached=reached, reply_content="已按规定办理并答复")
    event("replied", replied)
    roll = rng.random()
    evaluation = ("no_evaluation" if roll < .07 else "satisfied" if roll < .07 + .8 * quality
                  else "basically_satisfied" if roll < .25 + .75 * quality else "dissatisfied")
    resolved = None if evaluation == "no_evaluation" else rng.random() < {
        "satisfied": .95, "basically_satisfied": .75, "dissatisfied": .2}[evaluation]
    visited = replied + timedelta(hours=rng.uniform(4, 48))
    event("task_completed", visited, "回访评价", people.get("revisit1"), reached=("appellant_evaluated",),
          visit_method="phone", evaluation=evaluation, resolved=bool(resolved))
    event("evaluated", visited, evaluation=evaluation, resolved=resolved, organizer_fault=False)
    rehandled = evaluation == "dissatisfied" and rng.random() < .5
    if rehandled:
        event("rehandle_started", visited, rehandle_count=1)
    closed = min(visited + timedelta(days=5 if rehandled else 0, hours=1), now - timedelta(minutes=5))
    event("archived", closed)
    children.append(AppellantContact(kind="citizen", name=f"{rng.choice(SURNAMES)}{rng.choice(('先生', '女士'))}",
                                     phone=f"+8613{rng.randint(100000000, 999999999)}"))  # E.164, as registration stores
    appeal = Appeal(
        number=number, appeal_type=appeal_type, channel=rng.choice(("phone", "phone", "web", "wechat", "app")),
        status="archived", title=rng.choice(TITLES), content="（演示数据）市民反映的具体情况", lead_unit_id=lead,
        accepted_at=accepted, dispatched_at=dispatched, closed_at=closed, sign_for_due_at=dispatched + timedelta(days=1),
        handling_due_at=due, extension_days=extension, rehandle_count=int(rehandled), satisfaction=evaluation,
        resolved=resolved, reply_content="已按规定办理并答复", updated_at=closed)
    return appeal, children
