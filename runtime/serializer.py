"""The one module that turns SpiffWorkflow objects into JSON-ready dicts and back.

Specs are stored once per deployment; an instance's state is stored without them (a
serialized workflow normally embeds its whole spec, ~45 KB for appeal_handling).
"""
from copy import deepcopy
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


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
