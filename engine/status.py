"""Appeal statuses as data: each user task in the diagram names the status it puts an appeal
in (property `appealStatus`); service tasks set the terminal ones. Checked here, once."""
from .errors import ProcessError

# Allowed status transitions (the diagram's user tasks carry the status they put an appeal in).
TRANSITIONS = {
    "registered": {"assessing"},
    "assessing": {"dispatching", "not_accepted", "verifying"},
    "dispatching": {"signing"},
    "signing": {"handling", "returned"},
    "returned": {"signing", "dispatching"},
    "handling": {"extension_pending", "reviewing"},
    "extension_pending": {"handling"},
    "reviewing": {"handling", "replying"},
    "replying": {"verifying"},
    "verifying": {"handling", "archived"},
    "not_accepted": set(),
    "archived": set(),
    "terminated": set(),
}
for _targets in TRANSITIONS.values():  # a process owner may terminate any open appeal
    if _targets:
        _targets.add("terminated")
STATUS_LABELS = {
    "registered": "已登记", "assessing": "待研判", "dispatching": "待派单", "signing": "待签收",
    "returned": "退回待审核", "handling": "办理中", "extension_pending": "延期审批中",
    "reviewing": "待领导审核", "replying": "待答复", "verifying": "待回访核实",
    "not_accepted": "不予受理", "archived": "已办结", "terminated": "已终止",
}


def change_status(appeal, status: str) -> None:
    """Raises ProcessError when the diagram tries a transition the table does not allow."""
    if status == appeal.status:
        return
    if status not in TRANSITIONS.get(appeal.status, set()):
        raise ProcessError(f"appeal {appeal.number}: status {appeal.status} -> {status} is not allowed")
    appeal.status = status
