"""The appeal's history reads in the order things happened, a task's completion before what it
caused (issue 13, item 11): the handler assignment after the leader's completion, the
evaluation, archive and process end after the return visit's completion."""
import re

from sqlalchemy import select

from runtime.models import HistoryEvent, ProcessInstance

SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}


def _closed_appeal(walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit", SATISFIED)
    return appeal_id


def _history_entries(page: str) -> list[str]:
    """'label · task' of each timeline entry, in page order."""
    entries = re.findall(r'<div class="what"><strong>(.*?)</strong>(?: · (.*?))?</div>', page)
    return [f"{label} · {task}" if task else label for label, task in entries]


def test_a_completion_comes_before_what_it_caused(walk, unit_id, db):
    appeal_id = _closed_appeal(walk, unit_id)
    with db.read() as session:
        rows = list(session.scalars(select(HistoryEvent).where(HistoryEvent.business_key == appeal_id)
                                    .order_by(HistoryEvent.id)))
    actions = [(e.action, e.task_bpmn_id) for e in rows]
    visit = actions.index(("task_completed", "ut_return_visit"))
    for caused in ("evaluated", "archived", "process_completed"):
        assert [a for a, _ in actions].index(caused) > visit, (caused, actions)
    assign = actions.index(("task_completed", "ut_assign_handler"))
    assert [a for a, _ in actions[assign:]].count("task_assigned") == 1, actions
    times = [e.at for e in rows]
    assert times == sorted(times)  # id order and time order agree


def test_the_history_tab_reads_cause_before_effect(walk, unit_id, browser_as):
    appeal_id = _closed_appeal(walk, unit_id)
    entries = _history_entries(browser_as("supervisor1").get(f"/appeals/{appeal_id}?tab=history")
                               .get_data(as_text=True))
    visit = entries.index("完成任务 · 回访评价")
    assert entries.index("流程结束") > visit and entries.index("办结归档") > visit, entries
    assert entries.index("回访评价") > visit, entries
    assert entries.index("指定经办人 · 填报办理结果") > entries.index("完成任务 · 指定承办科室和经办人"), entries
    assert entries[-1] == "流程结束", entries


def test_the_monitor_lists_newest_first_with_the_cause_below_its_effects(walk, unit_id, browser_as, db):
    appeal_id = _closed_appeal(walk, unit_id)
    with db.read() as session:
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == appeal_id,
                                                                       ProcessInstance.process_key == "appeal_handling"))
    page = browser_as("owner1").get(f"/monitor/instances/{instance_id}").get_data(as_text=True)
    entries = _history_entries(page)
    assert entries[0] == "流程结束", entries  # newest first
    assert entries.index("完成任务 · 回访评价") > entries.index("办结归档"), entries
