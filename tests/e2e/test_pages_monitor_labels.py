"""The monitor's instance page speaks in labels (issue 13, item 10): its data and history show
no Python literals, no raw JSON and no variable or event keys; a unit's reads of the appellant
are kept in the audit, shown on the appeal's audit tab and not in any visible history."""
import re

from sqlalchemy import select

from runtime.models import HistoryEvent, ProcessInstance

PYTHON = re.compile(r"\b(True|False|None)\b")
KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")  # approved_days, milestone_reached, …


def visible_text(page: str) -> str:
    """The page's text as a reader sees it: no tags, attributes, scripts or styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _extended(walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 3, "extension_reason": "需多部门协调"})
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
    walk.complete(appeal_id, "dispatcher1", "ut_platform_approval", {"extension_approved": True, "approved_days": 3})
    return appeal_id


def _instance_id(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == appeal_id,
                                                               ProcessInstance.process_key == "appeal_handling"))


def test_the_instance_page_shows_labelled_values(walk, unit_id, db, browser_as):
    appeal_id = _extended(walk, unit_id)
    for lang in ("zh_Hans_CN", "en"):
        owner = browser_as("owner1")
        owner.get(f"/lang/{lang}")
        page = owner.get(f"/monitor/instances/{_instance_id(db, appeal_id)}").get_data(as_text=True)
        text = visible_text(page)
        assert not PYTHON.findall(text), (lang, PYTHON.findall(text))
        keys = [k for k in KEY.findall(text) if k not in ("appeal_handling", "co_handling", "extension_request")]
        assert not keys, (lang, keys)
        assert 'class="raw-key"' not in page  # every variable has a label
        assert '{"' not in text and "+08:00" not in text  # no JSON, no ISO times
    assert "批准延期（工作日）" in visible_text(browser_as("owner1").get(
        f"/monitor/instances/{_instance_id(db, appeal_id)}").get_data(as_text=True))


def test_reads_of_the_appellant_are_in_the_audit_tab_only(walk, unit_id, db, browser_as):
    appeal_id = walk.to_signed(unit_id=unit_id)
    staff = browser_as("gl_urban_staff")
    for _ in range(3):
        assert staff.get(f"/appeals/{appeal_id}").status_code == 200
    with db.read() as session:
        reads = session.scalars(select(HistoryEvent).where(HistoryEvent.business_key == appeal_id,
                                                           HistoryEvent.action == "appellant_viewed")).all()
    assert len(reads) >= 3  # the audit keeps every read

    supervisor = browser_as("supervisor1")
    history = supervisor.get(f"/appeals/{appeal_id}?tab=history").get_data(as_text=True)
    assert "查看诉求人信息" not in history
    monitor = supervisor.get(f"/monitor/instances/{_instance_id(db, appeal_id)}").get_data(as_text=True)
    timeline = monitor.split('<ol class="timeline">', 1)[1]
    assert "查看诉求人信息" not in timeline
    assert f"承办单位查看诉求人信息的 {len(reads)} 条记录不在此列" in monitor  # where they are instead
    assert f'href="/appeals/{appeal_id}?tab=audit"' in monitor
    audit = supervisor.get(f"/appeals/{appeal_id}?tab=audit").get_data(as_text=True)
    assert audit.count("查看诉求人信息") >= len(reads)
    unit_history = staff.get(f"/appeals/{appeal_id}?tab=history").get_data(as_text=True)
    assert "查看诉求人信息" not in unit_history
