"""The script engine of one unit of work: expressions see the task's data and the functions the
application offers; service tasks call the registered operators with the unit of work's context.

SpiffWorkflow does not serialize its script engine, so every load builds a new one, bound to
that load's context.
"""
import json

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from . import registry
from .errors import EngineError, ProcessError


class _Environment(TaskDataEnvironment):
    def __init__(self, ctx, functions: dict):
        super().__init__(dict(functions))
        self.ctx = ctx

    def call_service(self, context, operation_name=None, operation_params=None, **_kwargs):
        fn = registry.current().operators.get(operation_name)
        if fn is None:
            raise ProcessError(f"the diagram calls an unknown service '{operation_name}'")
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        return json.dumps(fn(self.ctx, **params))


class ScriptEngine(PythonScriptEngine):
    """Bound to one unit of work's context (None: expressions only, no services)."""

    def __init__(self, ctx=None):
        functions = registry.current().extension.functions(ctx) if ctx is not None else {}
        super().__init__(environment=_Environment(ctx, functions))

    def call_service(self, task, **kwargs):
        # SpiffWorkflow 3.2 hides service errors behind a NameError; surface ours as they are.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except EngineError:
            raise
        except (TypeError, ValueError, LookupError) as err:
            raise ProcessError(f"service '{kwargs.get('operation_name')}' failed on task "
                               f"{task.task_spec.bpmn_id}: {err}") from err
