"""Appeal statuses, as the deployed diagrams declare them.

Each user task, and any event that ends or starts a path, may declare the status it puts the
appeal in: `appealStatus` with `appealStatusLabel` (zh-CN) and `appealStatusLabelEn`
(hotline.contract refuses a deployment where a status has no labels). After every step the
appeal takes the status of the user task it waits in (the one reached last, when several
are open), or, when none waits, of the element with a status that was reached last (the end
event it finished at). So the moves allowed are the ones the deployed diagram can make; no
status table is kept here. The one status no diagram declares is the runtime's own
"terminated" (a process owner ends an instance), labelled below.

`catalogue()` lists the statuses of every deployed version, for filters, the API and the monitor.
"""
from dataclasses import dataclass

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from runtime import repository, tree
from runtime.models import Deployment

STATUS, LABEL, LABEL_EN = "appealStatus", "appealStatusLabel", "appealStatusLabelEn"
TERMINATED = "terminated"
LIFECYCLE = {TERMINATED: ("已终止", "Terminated")}


@dataclass(frozen=True)
class Status:
    name: str
    label: str
    label_en: str


def declared(task_spec) -> Status | None:
    props = getattr(task_spec, "extensions", {}).get("properties", {})
    name = props.get(STATUS)
    return Status(name, props.get(LABEL) or name, props.get(LABEL_EN) or props.get(LABEL) or name) if name else None


def current(workflow) -> str | None:
    """The status the workflow's state puts the appeal in, or None when nothing declares one."""
    tasks = tree.all_tasks(workflow)
    waiting = [(t.last_state_change, s.name) for t in tree.in_state(tasks, TaskState.READY, manual=True)
               if (s := declared(t.task_spec))]
    if waiting:
        return max(waiting)[1]
    reached = [(t.last_state_change, s.name) for t in tree.in_state(tasks, TaskState.COMPLETED)
               if (s := declared(t.task_spec))]
    return max(reached)[1] if reached else None


def project(ctx, loaded) -> None:
    """After each step: the appeal's status follows the diagram; a finished process closes it."""
    appeal = ctx.appeal
    status = current(loaded.workflow)
    if status and status != appeal.status:
        appeal.status = status
    if loaded.row.status == "completed" and appeal.closed_at is None:
        appeal.closed_at = ctx.now


def terminate(ctx) -> None:
    ctx.appeal.status, ctx.appeal.closed_at = TERMINATED, ctx.now


_by_hash: dict[str, list[Status]] = {}


def of_deployment(deployment: Deployment) -> list[Status]:
    """The statuses a deployment declares, in the order of its specs (main process first);
    worked out once per process (a deployment never changes)."""
    if deployment.content_hash not in _by_hash:
        spec, subs = repository.specs_for(deployment)
        found = {}
        for process in (spec, *subs.values()):
            for task_spec in process.task_specs.values():
                status = declared(task_spec)
                if status and status.name not in found:
                    found[status.name] = status
        _by_hash[deployment.content_hash] = list(found.values())
    return _by_hash[deployment.content_hash]


def catalogue(session) -> dict[str, Status]:
    """Every status of every deployed version (the newest version's labels win), then the
    runtime's own."""
    found: dict[str, Status] = {}
    for deployment in session.scalars(select(Deployment).order_by(Deployment.version.desc())):
        for status in of_deployment(deployment):
            found.setdefault(status.name, status)
    for name, (label, label_en) in LIFECYCLE.items():
        found.setdefault(name, Status(name, label, label_en))
    return found
