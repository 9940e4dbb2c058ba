"""Deployed diagrams with their live state: a version's BPMN files, with what each element has
done in one instance (completed, active, waiting, overdue, failed) or, for a version, how many
open user tasks wait at each element. Queries only."""
from datetime import datetime

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from . import instances, serializer
from .errors import NotFound
from .models import Deployment, Job, ProcessInstance, UserTask

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def deployment_diagrams(session, deployment_id: int) -> dict:
    """A version's diagrams with, per element, how many open user tasks wait there (no business
    data: analysts see this). Raises NotFound."""
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"deployment {deployment_id} does not exist")
    waiting = dict(session.execute(
        select(UserTask.bpmn_id, func.count()).join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .where(ProcessInstance.deployment_id == deployment_id, UserTask.state == "open")
        .group_by(UserTask.bpmn_id)).all())
    diagrams = _diagrams(deployment)
    for diagram in diagrams.values():
        diagram["counts"] = {bpmn_id: n for bpmn_id, n in waiting.items() if f'id="{bpmn_id}"' in diagram["xml"]}
    return {"deployment": {"id": deployment.id, "process_key": deployment.process_key,
                           "version": deployment.version}, "diagrams": diagrams}


def _diagrams(deployment: Deployment) -> dict[str, dict]:
    """{process id: {"file", "name", "xml", "states": {}, "counts": {}}} for each process of the
    bundle's .bpmn files, the main process first."""
    found = {}
    for name, xml in sorted(deployment.files.items(), key=lambda item: item[0] != f"{deployment.process_key}.bpmn"):
        if name.endswith(".bpmn"):
            for process in etree.fromstring(xml.encode("utf-8")).iterfind(f"{{{BPMN}}}process"):
                found[process.get("id")] = {"file": name, "name": process.get("name") or process.get("id"),
                                            "xml": xml, "states": {}, "counts": {}}
    return found


# A node shows its most telling state when several of its tasks exist (loops, re-handling).
RANK = {"completed": 1, "waiting": 2, "active": 3, "overdue": 4, "failed": 5}


def node_states(session, instance_id: int, now: datetime) -> dict:
    """The instance's diagrams (the version it is pinned to) with each element's state and how
    many times it completed. Failed: a task in error or a timer whose job became an incident.
    Raises NotFound."""
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    diagrams = _diagrams(row.deployment)
    summary = {"instance": {"id": row.id, "status": row.status},
               "deployment": {"id": row.deployment_id, "version": row.deployment.version}, "diagrams": diagrams}
    if serializer.is_ended(row.state):  # what it keeps: how often each element completed
        for node in row.state[serializer.ENDED]["nodes"]:
            diagram = next((diagrams[p] for p in node["processes"] if p in diagrams), None)
            for bpmn_id, count in (node["completed"] if diagram is not None else {}).items():
                diagram["states"].setdefault(bpmn_id, "completed")
                diagram["counts"][bpmn_id] = diagram["counts"].get(bpmn_id, 0) + count
        return summary
    loaded = instances.load(session, instance_id, actor=None, lock=False)
    overdue = {t.id for t in session.scalars(select(UserTask).where(
        UserTask.instance_id == instance_id, UserTask.state == "open")) if t.is_overdue(now)}
    failed = set(session.scalars(select(Job.task_id).where(Job.instance_id == instance_id, Job.status == "incident")))
    workflow = loaded.workflow
    for wf in [workflow, *workflow.subprocesses.values()]:
        diagram = diagrams.get(_process_of(wf, diagrams))
        if diagram is None:
            continue
        for task in wf.tasks.values():
            state = _state_of(task, overdue, failed)
            bpmn_id = task.task_spec.bpmn_id
            if state is None or bpmn_id is None:
                continue
            if RANK[state] > RANK.get(diagram["states"].get(bpmn_id), 0):
                diagram["states"][bpmn_id] = state
            if task.state == TaskState.COMPLETED:
                diagram["counts"][bpmn_id] = diagram["counts"].get(bpmn_id, 0) + 1
    return summary


def _process_of(wf, diagrams: dict) -> str:
    """The process (diagram) a (sub)workflow is drawn in: an embedded subprocess is drawn in
    its parent's diagram, a called process in its own."""
    while wf.spec.name not in diagrams and getattr(wf, "parent_workflow", None) is not None:
        wf = wf.parent_workflow
    return wf.spec.name


def _state_of(task, overdue: set[str], failed: set[str]) -> str | None:
    task_id = str(task.id)
    if task_id in failed or task.state == TaskState.ERROR:
        return "failed"
    if task_id in overdue:
        return "overdue"
    if task.state in (TaskState.READY, TaskState.STARTED):
        return "active"
    if task.state == TaskState.WAITING:
        return "waiting"
    if task.state == TaskState.COMPLETED:
        return "completed"
    return None
