"""The time-limit table (processes/time_limits.dmn, Art. 14, 17, 20): which limit each stage of
an appeal gets, evaluated by SpiffWorkflow's DMN engine, the same table the diagram's business
rule task calls. Its `<stage>_limit` columns are limits in the grammar of workdays.deadlines.

Dispatch runs from acceptance; sign-for, first contact, handling and the co-organizers' feedback
(Art. 16) run from dispatch.
"""
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from workdays.calendar import Deadline, WorkingCalendar
from workdays.deadlines import due

from .config import PROCESSES_DIR

TABLE = PROCESSES_DIR / "time_limits.dmn"
DECISION = "time_limits"
STAGES = ("dispatch", "sign_for", "first_contact", "handling", "co_feedback")
# Second-level dispatch (hotline.sub_dispatch): the subordinate unit's limits, computed from the
# table's sub_*_limit columns into the `deadlines` variable only (no appeal columns), capped at
# the government's handling deadline and not recomputed after a calendar change.
SUB_STAGES = ("sub_sign_for", "sub_handling")


def evaluate_table(appeal_type: str, convenience_list: bool = False, urgent: bool = False,
                   table: Path = TABLE, emergency: bool = False, simple: bool = False) -> dict[str, str]:
    """The table's limits for an appeal, evaluated by SpiffWorkflow's DMN engine (the same
    table the diagram's business rule task uses). Keys: dispatch, sign_for, first_contact, handling."""
    return evaluate_xml(table.read_bytes(), appeal_type, convenience_list, urgent, emergency, simple)


def decide(appeal_type: str, convenience_list: bool = False, urgent: bool = False, table: Path = TABLE,
           emergency: bool = False, simple: bool = False) -> dict:
    """Every output of the table's matching row (limits, supervision_limit, max_returns)."""
    return dict(_decide(table.read_bytes(), appeal_type, bool(convenience_list), bool(urgent), bool(emergency),
                        bool(simple)))


def evaluate_xml(xml: str | bytes, appeal_type: str, convenience_list: bool = False,
                 urgent: bool = False, emergency: bool = False, simple: bool = False) -> dict[str, str]:
    """evaluate_table over the text of a table (a deployed version's time_limits.dmn)."""
    result = _decide(xml, appeal_type, bool(convenience_list), bool(urgent), bool(emergency), bool(simple))
    return {name: result.get(f"{name}_limit", "none") for name in STAGES}


def for_appeal(xml: str | bytes, appeal) -> dict[str, str]:
    """evaluate_xml with the facts an appeal row keeps (its assessment's grading included)."""
    return evaluate_xml(xml, appeal.appeal_type, appeal.convenience_list, appeal.urgent, appeal.emergency,
                        appeal.simple)


@lru_cache(maxsize=256)  # a migration preview asks the same few questions for every appeal
def _decide(xml, appeal_type, convenience_list, urgent, emergency, simple) -> dict:
    parser = BpmnDmnParser()
    text = xml.encode() if isinstance(xml, str) else xml
    parser.add_dmn_xml(etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True)),
                       filename=TABLE.name)
    # every input a table of an older version or of today's may read
    task = SimpleNamespace(data={"appeal_type": appeal_type, "convenience_list": convenience_list, "urgent": urgent,
                                 "emergency": emergency, "simple": simple},
                           workflow=SimpleNamespace(script_engine=PythonScriptEngine()))
    return parser.get_engine(DECISION, None).result(task)


def all_deadlines(calendar: WorkingCalendar, limits: dict[str, str], accepted_at: datetime,
                  dispatched_at: datetime | None = None) -> dict[str, Deadline]:
    """What `hotline deadline` prints: dispatch from acceptance, the rest from dispatch
    (assumed to happen at acceptance when not given)."""
    result = {"dispatch": due(calendar, accepted_at, limits["dispatch"])}
    for name in ("sign_for", "first_contact", "handling"):
        result[name] = due(calendar, dispatched_at or accepted_at, limits[name])
    return {k: v for k, v in result.items() if v is not None}
