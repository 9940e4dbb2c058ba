"""Who may work a task: a user whose role is among the task's candidate roles and, for a unit's
task, who belongs to that unit; the registry's administrator role may work any. Used by the
task service and by the instance service when a task opens for the user it is assigned to.
A task with a scope (its `scopeVariable`, e.g. the centre that holds the case) is worked only by
users whose scope attribute (the registry's `scope_attribute`) is that scope."""
from . import registry


def may_work(user, task) -> bool:
    """`task` is a UserTask row; `user` anything with role and unit_id."""
    if user.role == registry.current().admin_role:
        return True
    if user.role not in task.candidate_roles.split(","):
        return False
    if task.scope_id is not None and task.scope_id != getattr(user, registry.current().scope_attribute or "", None):
        return False
    return task.unit_id is None or task.unit_id == user.unit_id
