"""撤单 (withdrawal): the appellant takes the appeal back, with a reason, before it is replied.
It is recorded, never deleted. Where it is still possible is the diagram's to say: the steps
that catch the `withdraw` message (boundary events on the steps before the reply); anywhere
else the request is refused and nothing is written.
"""
from runtime import history, instances, messages
from runtime.errors import Conflict, NotFound

from . import appeals, texts
from .access import require

MESSAGE = "withdraw"
MAX_REASON = 500


def withdraw(db, appeal_id: int, reason: str, actor) -> None:
    """One transaction: the request with its reason in history, then the message to the
    appeal's process. Raises Forbidden, NotFound, InvalidInput (no reason), Conflict (reason
    `not_withdrawable`: replied already, or at a step where it cannot be taken back)."""
    require(actor, "withdraw")
    reason = texts.required(reason, "reason", "请填写撤单原因", MAX_REASON)
    with db.transaction() as session:
        appeal = appeals.get_visible(session, appeal_id, actor)
        row = instances.for_business_key(session, appeal.id)
        if row is None:
            raise NotFound(f"appeal {appeal_id} has no process")
        history.record(session, "withdrawal_requested", business_key=appeal.id, instance_id=row.id,
                       actor_id=actor.id, detail={"reason": reason})
        try:
            messages.deliver(session, row.id, MESSAGE, actor)
        except Conflict as err:
            raise Conflict("the appeal can no longer be withdrawn: it has been replied or is being decided",
                           "not_withdrawable") from err
