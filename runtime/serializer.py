"""The one module that turns SpiffWorkflow objects into JSON-ready dicts and back.

Specs are stored once per deployment; an instance's state is stored without them (a
serialized workflow normally embeds its whole spec, ~45 KB for appeal_handling). An instance
that has ended keeps only its final data and how often each element completed (`ended_state`):
its history says the rest, and nothing ever runs it again.
"""
from copy import deepcopy
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState


class _StateConverter(BpmnWorkflowConverter):
    """Like the library's converter, but leaves the specs out and takes them back in."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = deepcopy(SPIFF_CONFIG)
_config[BpmnWorkflow] = _StateConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))
VERSION = _serializer.VERSION


def specs_to_dict(spec, subprocess_specs) -> dict:
    registry = _serializer.registry
    return {"spec": registry.convert(spec),
            "subprocess_specs": {k: registry.convert(v) for k, v in subprocess_specs.items()}}


def specs_from_dict(dct: dict):
    registry = _serializer.registry
    dct = deepcopy(dct)
    spec = registry.restore(dct["spec"])
    subs = {k: registry.restore(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subs


def state_to_dict(workflow) -> dict:
    return _serializer.to_dict(workflow)


def state_from_dict(state: dict, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    """Rebuild a workflow; the script engine is not serialized, so it is attached here.

    `state` is left as it was, without a deep copy: SpiffWorkflow's restore builds new
    containers all the way down and pops keys only from copies, except the mapping of
    subprocesses, which it empties; that one mapping is copied."""
    dct = dict(state)
    dct["subprocesses"] = dict(state.get("subprocesses", {}))
    workflow = _serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


ENDED = "ended"


def ended_state(workflow) -> dict:
    """What an ended instance keeps: the data it ended with and, per (sub)workflow, how often each
    element completed, with the processes it is drawn in (its own, then its parents')."""
    nodes = []
    for wf in [workflow, *workflow.subprocesses.values()]:
        processes, parent = [], wf
        while parent is not None:
            processes.append(parent.spec.name)
            try:
                parent = getattr(parent, "parent_workflow", None)
            except SpiffWorkflowException:  # its calling task was cut off the tree (a withdrawal)
                parent = None
        completed = {}
        for task in wf.tasks.values():
            bpmn_id = task.task_spec.bpmn_id
            if bpmn_id is not None and task.state == TaskState.COMPLETED:
                completed[bpmn_id] = completed.get(bpmn_id, 0) + 1
        nodes.append({"processes": processes, "completed": completed})
    return {ENDED: {"data": _serializer.registry.convert(_final_data(workflow)), "nodes": nodes}}


def is_ended(state: dict) -> bool:
    return ENDED in (state or {})


def ended_data(state: dict) -> dict:
    return _serializer.registry.restore(state[ENDED]["data"])


def _final_data(workflow) -> dict:
    """The workflow's data when it ended, else its last completed task's."""
    if workflow.data:
        return dict(workflow.data)
    done = sorted(workflow.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change)
    return dict(done[-1].data) if done else {}
