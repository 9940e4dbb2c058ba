"""The repository service: parse and validate the diagrams, deploy versions, cache specs.

A deployment is the whole bundle of .bpmn/.dmn files (the main process calls the others, or
they are started on their own, each instance naming its process) and
the task forms (`forms/<name>.schema.json` and `.uischema.json`), keyed by a hash of their
contents: deploying unchanged files is a no-op, a change makes the next version. Running
instances stay on the version they started on, forms included.
"""
import hashlib
import json
from pathlib import Path

from sqlalchemy import func, select

from . import forms, history, registry, serializer, validation
from .errors import NotFound
from .models import Deployment

FORMS = forms.BUNDLE_PREFIX

_spec_cache: dict[str, tuple] = {}
_forms_cache: dict[str, dict[str, str]] = {}


def read_bundle(folder: Path | None = None, with_forms: bool = True) -> dict[str, str]:
    """All .bpmn and .dmn files of a folder (the registry's processes folder by default),
    name -> text, and the task forms of the registry's forms folder as "forms/<file name>" -> text."""
    folder = folder or registry.current().processes_dir
    files = sorted(list(folder.glob("*.bpmn")) + list(folder.glob("*.dmn")))
    bundle = {f.name: f.read_text(encoding="utf-8") for f in files}
    if with_forms:
        bundle.update({FORMS + f.name: f.read_text(encoding="utf-8")
                       for f in sorted(registry.current().forms_dir.glob("*.json"))})
    return bundle


def content_hash(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def parse(files: dict[str, str], process_key: str | None = None):
    """Parse a bundle after validation.check(): XSD, SpiffWorkflow, timers, forms, lanes, operators,
    gateways, DI.

    Returns (spec, subprocess_specs). Raises validation.BundleInvalid (an InvalidInput whose fields
    map "file:element" to the messages, zh-CN / English) listing every problem found.
    """
    problems, spec, subprocess_specs = validation.inspect(files, process_key or registry.current().main_process)
    if problems:
        raise validation.BundleInvalid(problems)
    return spec, subprocess_specs


def deploy(session, files: dict[str, str] | None = None, process_key: str | None = None,
           deployed_by: str | None = None) -> tuple[Deployment, bool]:
    """Register a bundle (the registry's folders when `files` is None). Returns (deployment,
    created). Raises InvalidInput (see parse()) if it has problems."""
    files = files if files is not None else read_bundle()
    process_key = process_key or registry.current().main_process
    digest = content_hash(files)
    existing = session.scalar(select(Deployment).where(
        Deployment.process_key == process_key, Deployment.content_hash == digest))
    if existing:
        return existing, False
    spec, subs = parse(files, process_key)
    version = (session.scalar(select(func.max(Deployment.version))
                              .where(Deployment.process_key == process_key)) or 0) + 1
    deployment = Deployment(process_key=process_key, version=version, content_hash=digest, files=files,
                            spec=serializer.specs_to_dict(spec, subs), deployed_by=deployed_by)
    session.add(deployment)
    session.flush()
    _spec_cache[deployment.content_hash] = (spec, subs)
    return deployment, True


def deploy_bundle(db, files: dict[str, str] | None = None, process_key: str | None = None,
                  deployed_by: str | None = None) -> tuple[Deployment, bool]:
    """deploy() as one command in its own transaction, recorded in history when it made a version.
    Raises BundleInvalid."""
    with db.transaction() as session:
        deployment, created = deploy(session, files, process_key, deployed_by)
        if created:
            history.record(session, "process_deployed", detail={"version": deployment.version, "by": deployed_by,
                                                                 "files": sorted(files or read_bundle())})
        return deployment, created


def latest(session, process_key: str | None = None) -> Deployment:
    """The newest deployment of a process (the registry's main process by default).
    Raises NotFound if nothing is deployed (run `hotline deploy`)."""
    process_key = process_key or registry.current().main_process
    deployment = session.scalar(select(Deployment).where(Deployment.process_key == process_key)
                                .order_by(Deployment.version.desc()).limit(1))
    if deployment is None:
        raise NotFound(f"process '{process_key}' is not deployed; run `hotline deploy`")
    return deployment


def latest_with(session, process_key: str | None = None) -> Deployment:
    """The newest deployment that can start `process_key` (the registry's main process by default):
    a deployment of that process itself, else the newest version of the main bundle when the
    process is one of its diagrams (a process nobody calls, started on its own, e.g. for a record
    the main process opens). Raises NotFound."""
    main = registry.current().main_process
    process_key = process_key or main
    own = session.scalar(select(Deployment).where(Deployment.process_key == process_key)
                         .order_by(Deployment.version.desc()).limit(1))
    if own is not None or process_key == main:
        return own or latest(session)
    bundle = latest(session)
    if process_key not in specs_for(bundle)[1]:
        raise NotFound(f"process '{process_key}' is not in the deployed version {bundle.version}; run `hotline deploy`")
    return bundle


def process_specs(deployment: Deployment, process_key: str | None = None):
    """(spec, subprocess_specs) to run one process of a deployment: its main one by default, or
    another process of its bundle. Raises NotFound."""
    spec, subs = specs_for(deployment)
    if process_key in (None, deployment.process_key):
        return spec, subs
    if process_key not in subs:
        raise NotFound(f"process '{process_key}' is not in deployment {deployment.id}")
    return subs[process_key], subs


def specs_for(deployment: Deployment):
    """(spec, subprocess_specs) of a deployment, restored once per process."""
    cached = _spec_cache.get(deployment.content_hash)
    if cached is None:
        cached = _spec_cache[deployment.content_hash] = serializer.specs_from_dict(deployment.spec)
    return cached


def forms_of(deployment: Deployment) -> dict[str, str]:
    """The task forms deployed with a version ("forms/<file name>" -> text), read once per
    process: a deployment's content never changes."""
    found = _forms_cache.get(deployment.content_hash)
    if found is None:
        found = _forms_cache[deployment.content_hash] = {
            k: v for k, v in (deployment.files or {}).items() if k.startswith(FORMS)}
    return found


def get(session, deployment_id: int) -> Deployment:
    """Raises NotFound."""
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"deployment {deployment_id} does not exist")
    return deployment


def list_deployments(session) -> list[Deployment]:
    return list(session.scalars(select(Deployment).order_by(Deployment.process_key, Deployment.version)))
