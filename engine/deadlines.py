"""Deadlines from the time-limit table (processes/time_limits.dmn) and the working-day
calendar: pure functions over datetimes.

A limit is text an analyst writes in the table:
- "Nwd": N working days after the start day (Art. 14, 17, 20);
- "PT1H" (any ISO 8601 clock duration): "immediately" for urgent matters (Art. 14);
- "same_day": by the end of the same calendar day (Art. 20(5));
- "none": no such limit.
Dispatch runs from acceptance; sign-for, first contact and handling run from dispatch.
"""
import re
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from .calendar import Deadline, WorkingCalendar

TABLE = Path(__file__).resolve().parent.parent / "processes" / "time_limits.dmn"
DECISION = "time_limits"
LIMIT_NAMES = ("dispatch", "sign_for", "first_contact", "handling")
_WORKING_DAYS = re.compile(r"^(\d+)wd$")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


class LimitError(ValueError):
    """A limit in the table is not in the grammar above."""


def working_days(limit: str | None) -> int:
    """The number of working days in a "Nwd" limit, else 0 (same day, hours, none)."""
    match = _WORKING_DAYS.match(limit or "")
    return int(match.group(1)) if match else 0


def is_limit(text: str) -> bool:
    """Whether `text` is in the grammar above."""
    return text in ("none", "same_day") or bool(_WORKING_DAYS.match(text)) \
        or bool((match := _DURATION.match(text)) and any(match.groups()))


def due(calendar: WorkingCalendar, start: datetime, limit: str | None) -> Deadline | None:
    """When a limit that starts at `start` runs out; None for "none"."""
    if limit in (None, "", "none"):
        return None
    if limit == "same_day":
        return calendar.end_of_day(start)
    if match := _WORKING_DAYS.match(limit):
        return calendar.add_working_days(start, int(match.group(1)))
    if (match := _DURATION.match(limit)) and any(match.groups()):
        hours, minutes = (int(g or 0) for g in match.groups())
        return Deadline(start + timedelta(hours=hours, minutes=minutes), False)
    raise LimitError(f"time limit '{limit}' is not 'Nwd', 'PTnHnM', 'same_day' or 'none'")


def evaluate_table(appeal_type: str, convenience_list: bool = False, urgent: bool = False,
                   table: Path = TABLE) -> dict[str, str]:
    """The table's limits for an appeal, evaluated by SpiffWorkflow's DMN engine (the same
    table the diagram's business rule task uses). Keys: dispatch, sign_for, first_contact, handling."""
    return evaluate_xml(table.read_bytes(), appeal_type, convenience_list, urgent)


def evaluate_xml(xml: str | bytes, appeal_type: str, convenience_list: bool = False,
                 urgent: bool = False) -> dict[str, str]:
    """evaluate_table over the text of a table (a deployed version's time_limits.dmn)."""
    return dict(_evaluate_xml(xml, appeal_type, bool(convenience_list), bool(urgent)))


@lru_cache(maxsize=256)  # a migration preview asks the same few questions for every appeal
def _evaluate_xml(xml, appeal_type, convenience_list, urgent) -> dict[str, str]:
    parser = BpmnDmnParser()
    text = xml.encode() if isinstance(xml, str) else xml
    parser.add_dmn_xml(etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True)),
                       filename=TABLE.name)
    task = SimpleNamespace(data={"appeal_type": appeal_type, "convenience_list": convenience_list,
                                 "urgent": urgent}, workflow=SimpleNamespace(script_engine=PythonScriptEngine()))
    result = parser.get_engine(DECISION, None).result(task)
    return {name: result.get(f"{name}_limit", "none") for name in LIMIT_NAMES}


def all_deadlines(calendar: WorkingCalendar, limits: dict[str, str], accepted_at: datetime,
                  dispatched_at: datetime | None = None) -> dict[str, Deadline]:
    """What `hotline deadline` prints: dispatch from acceptance, the rest from dispatch
    (assumed to happen at acceptance when not given)."""
    result = {"dispatch": due(calendar, accepted_at, limits["dispatch"])}
    for name in ("sign_for", "first_contact", "handling"):
        result[name] = due(calendar, dispatched_at or accepted_at, limits[name])
    return {k: v for k, v in result.items() if v is not None}
