"""What an application plugs into the runtime when it is built, in one place.

The runtime runs any diagram; what its service tasks call and what they may touch is the
application's. `configure(Registry(...))` installs, once per process (the app factory, the CLI
and the tests call it): the service operators by name, the main process and the folders its
bundle is read from, the roles of lanes and the administrator and unit leader roles, extra
validation rules, and an `Extension` whose hooks run inside each unit of work. Nothing registers itself by being imported.
"""
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import EngineError


@dataclass
class Step:
    """The unit of work an instance is advanced in: what every hook and operator starts from."""
    session: Any
    business_key: int
    instance_id: int | None
    actor: Any  # an object with id, role and unit_id, or None (a timer, the appellant)
    now: datetime
    notices: list = field(default_factory=list)  # {"zh", "en"} messages for the actor, e.g. why a step was refused


class Extension:
    """Hooks into each unit of work; the defaults do nothing, so a bare runtime runs diagrams
    whose service tasks need no application."""

    def context(self, step: Step) -> Any:
        """What operators and script functions receive for this unit of work."""
        return step

    def functions(self, ctx) -> dict[str, Callable]:
        """Functions that script, condition and timer expressions may call."""
        return {}

    def before_complete(self, ctx, task, data: dict, fields: dict) -> None:
        """Check a submission's references and keep its record fields (a form's
        `x-record-fields`) before the task runs. Raises InvalidInput."""

    def snapshot(self, ctx) -> dict | None:
        """The business state shown as before/after in a completion's history."""
        return None

    def saved(self, ctx, loaded) -> None:
        """After the instance was advanced and its tasks projected, in the same transaction."""

    def terminated(self, ctx, loaded) -> None:
        """After an instance was terminated, in the same transaction."""

    def labels(self, session, business_keys) -> dict[int, str]:
        """How the application names its business keys in lists (an appeal's number)."""
        return {}

    def actor(self, session, actor_id: int | None):
        """The actor with this id (detached from the session), for work done on their behalf later."""
        return

    def actor_names(self, session, actor_ids) -> dict[int, str]:
        """Display names of actors by id."""
        return {}

    def migration_changes(self, session, items, target) -> dict[int, dict]:
        """{instance id: {name: (now, new)}}: what applying the target version's rules would change,
        for [(instance row, workflow)] still on older versions."""
        return {}

    def apply_migration_changes(self, session, loaded, target) -> dict:
        """Apply the target version's rules to an instance just moved to it; returns what changed."""
        return {}

    def migration_reverted(self, session, loaded) -> None:
        """A move whose rules were applied was reverted: put the instance's own back in force."""


@dataclass
class Registry:
    processes_dir: Path
    forms_dir: Path
    main_process: str
    operators: dict[str, Callable] = field(default_factory=dict)
    lane_roles: dict[str, str] = field(default_factory=dict)  # lane name -> "role,role"
    admin_role: str = "admin"  # may work every task
    unit_leader_role: str | None = None  # may release claims on its unit's tasks
    # the user attribute a task's scope (its `scopeVariable`) is matched against, e.g. "centre_id"
    scope_attribute: str | None = None
    rules: tuple = ()  # extra validation rules: (file name, lxml tree, bundle) -> [Problem]
    secret_links: re.Pattern | None = None  # removed from notifications once sent (group 1 is kept)
    extension: Extension = field(default_factory=Extension)

    def operator(self, fn: Callable) -> Callable:
        """Register `fn` under its name. Its first parameter is the context; the others are what
        a service task passes (by name)."""
        self.operators[fn.__name__] = fn
        return fn

    def signature(self, name: str) -> tuple[list[str], list[str]]:
        """(required, optional) parameter names of an operator: what a service task must pass."""
        params = list(inspect.signature(self.operators[name]).parameters.values())[1:]  # after ctx
        return ([p.name for p in params if p.default is p.empty],
                [p.name for p in params if p.default is not p.empty])

    def catalogue(self) -> dict[str, dict]:
        """Every operator with the parameters it takes, for the modeler."""
        return {name: dict(zip(("required", "optional"), self.signature(name), strict=True))
                for name in sorted(self.operators)}


_current: Registry | None = None


class NotConfigured(EngineError):
    reason = "not_configured"


def configure(registry: Registry) -> Registry:
    """Install the registry every later call in this process uses."""
    global _current
    _current = registry
    return registry


def current() -> Registry:
    """Raises NotConfigured when the application did not configure the runtime."""
    if _current is None:
        raise NotConfigured("the runtime is not configured: call runtime.registry.configure() when the app is built")
    return _current
