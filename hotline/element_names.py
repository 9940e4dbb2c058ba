"""English names of the diagrams' user tasks and timer events, as the deployed versions declare
them: a `nameEn` property beside the element's (Chinese) name. Pages in English show it
wherever a task or timer name is shown; history rows, task rows and timer jobs keep the Chinese
name they were written with, so the names are looked up by that name. An element without the
property keeps its Chinese name (a form's English title may stand in for a task's).
"""
from sqlalchemy import select

from runtime import repository
from runtime.models import Deployment

NAME_EN = "nameEn"

_by_hash: dict[str, dict[str, str]] = {}


def declared(task_spec) -> str | None:
    props = getattr(task_spec, "extensions", {}).get("properties", {})
    return (props.get(NAME_EN) or "").strip() or None


def of_deployment(deployment: Deployment) -> dict[str, str]:
    """{Chinese name: English name} of the elements a deployment names in English, worked out
    once per process (a deployment never changes)."""
    if deployment.content_hash not in _by_hash:
        spec, subs = repository.specs_for(deployment)
        found = {}
        for process in (spec, *subs.values()):
            for task_spec in process.task_specs.values():
                english = declared(task_spec)
                if english and task_spec.bpmn_name:
                    found.setdefault(task_spec.bpmn_name, english)
        _by_hash[deployment.content_hash] = found
    return _by_hash[deployment.content_hash]


def catalogue(session) -> dict[str, str]:
    """{Chinese name: English name} over every deployed version; the newest version's wins."""
    found: dict[str, str] = {}
    versions = session.execute(select(Deployment.id, Deployment.content_hash).order_by(Deployment.version.desc()))
    for deployment_id, content_hash in versions.all():  # a version's spec is read once per process
        names = _by_hash[content_hash] if content_hash in _by_hash else of_deployment(
            session.get(Deployment, deployment_id))
        for name, english in names.items():
            found.setdefault(name, english)
    return found
