"""The one clock of the runtime. Deadlines, timers and jobs all read `now()`, and
SpiffWorkflow's timer events are pointed at it too, so a test (or a replay) can move time
for the whole engine at once instead of sleeping."""
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_now(value: datetime | None) -> None:
    """Freeze the clock at `value` (timezone-aware), or unfreeze with None. Tests only."""
    global _frozen
    if value is not None and value.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware time")
    _frozen = value


class _EngineDatetime(datetime):
    """datetime whose now() is the engine clock; SpiffWorkflow's timer module uses it."""

    @classmethod
    def now(cls, tz=None):
        current = now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _EngineDatetime
