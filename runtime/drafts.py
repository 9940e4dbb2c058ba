"""Drafts edited in the browser: open a .bpmn/.dmn file or a task form ("forms/<file>"), save a
draft, compare it with the deployed version, validate and deploy the bundle with the drafts in
it, and write files back to processes/ or forms/ so that they are committed and reviewed like code.

A deployment is the whole bundle (runtime/repository.py): validating or deploying takes the latest
deployment's files with every draft substituted; a successful deployment deletes the drafts.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from . import clock, history, repository, validation
from .errors import Conflict, InvalidInput, NotFound
from .models import Deployment, ProcessDraft

MAX_CHARS = 2_000_000  # the largest diagram today is ~60 kB
_DI = ("http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DI",
       "http://www.omg.org/spec/DD/20100524/DC", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
       "http://www.omg.org/spec/DMN/20180521/DMNDI/", "http://www.omg.org/spec/DMN/20180521/DI/",
       "http://www.omg.org/spec/DMN/20180521/DC/")
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class FileEntry:
    name: str
    in_repository: bool
    deployed_version: int | None  # the latest deployment's version when it holds this file
    draft: ProcessDraft | None


def _is_diagram(name: str) -> bool:
    return name.endswith((".bpmn", ".dmn")) and "/" not in name and "\\" not in name \
        and not name.startswith(".")


def _is_form(name: str) -> bool:
    rest = name.removeprefix(repository.FORMS)
    return name.startswith(repository.FORMS) and rest.endswith((".schema.json", ".uischema.json")) \
        and "/" not in rest and "\\" not in rest and not rest.startswith(".")


def _latest(session) -> Deployment | None:
    try:
        return repository.latest(session)
    except NotFound:
        return None


def list_files(session, folder: Path | None = None) -> list[FileEntry]:
    """Every diagram and decision table: processes/ and the latest deployment, with its draft if any."""
    latest = _latest(session)
    deployed = latest.files if latest else {}
    in_repo = set(repository.read_bundle(folder, with_forms=False))
    drafts = {d.file_name: d for d in session.scalars(select(ProcessDraft))}
    return [FileEntry(name, name in in_repo, latest.version if name in deployed else None, drafts.get(name))
            for name in sorted(in_repo | set(deployed) | set(drafts)) if _is_diagram(name)]


def form_names(session) -> dict[str, bool]:
    """Every task form's schema file name (forms/, the latest deployment, drafts) -> has a draft."""
    latest = _latest(session)
    names = set(repository.read_bundle(with_forms=True)) | set(latest.files if latest else ())
    drafted = set(session.scalars(select(ProcessDraft.file_name)))
    found = {}
    for name in names | drafted:
        if _is_form(name) and name.endswith(".schema.json"):
            stem = name.removesuffix(".schema.json")
            found[name.removeprefix(repository.FORMS)] = bool({name, stem + ".uischema.json"} & drafted)
    return dict(sorted(found.items()))


def open_file(session, name: str, folder: Path | None = None) -> tuple[str, str]:
    """(content, source): the draft, else the latest deployed content, else the repository file;
    source is "draft", "deployed" or "repository". Raises NotFound."""
    draft = session.scalar(select(ProcessDraft).where(ProcessDraft.file_name == name))
    if draft:
        return draft.content, "draft"
    deployed = deployed_content(session, name)
    if deployed is not None:
        return deployed, "deployed"
    repo = repository.read_bundle(folder).get(name) if _is_diagram(name) or _is_form(name) else None
    if repo is None:
        raise NotFound(f"process file '{name}' does not exist")
    return repo, "repository"


def deployed_content(session, name: str) -> str | None:
    latest = _latest(session)
    return latest.files.get(name) if latest else None


def fingerprint(text: str) -> str:
    """What an editor sends back as `based_on`: the content it opened or last saved."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def save_draft(db, name: str, content: str, user, based_on: str | None = None) -> ProcessDraft:
    """Keep `content` as the draft of file `name`. With `based_on` (the fingerprint of what the
    editor opened), refuses with Conflict when someone saved or deployed the file since. Raises
    InvalidInput for a bad name, empty or oversized content or text that is not XML (the full
    rules run on validate)."""
    return save_drafts(db, {name: content}, user, {name: based_on} if based_on else None)[0]


def save_drafts(db, contents: dict[str, str], user, based_on: dict[str, str] | None = None
                ) -> list[ProcessDraft]:
    """save_draft of several files in one transaction (a form's schema and UI schema)."""
    for name, content in contents.items():
        _check_content(name, content)
    try:
        return _save(db, contents, user, based_on or {})
    except IntegrityError as err:  # two first drafts of one file at the same moment
        raise Conflict("该文件刚被他人保存了草稿，请重新打开后再修改") from err


def _save(db, contents, user, based_on) -> list[ProcessDraft]:
    with db.transaction() as session:
        latest, saved = _latest(session), []
        for name, content in contents.items():
            draft = session.scalar(select(ProcessDraft).where(ProcessDraft.file_name == name).with_for_update())
            if name in based_on:
                try:
                    current = draft.content if draft else open_file(session, name)[0]
                except NotFound:
                    current = None  # a new file: nothing to overwrite
                if current is not None and fingerprint(current) not in (based_on[name], fingerprint(content)):
                    raise Conflict("该文件在你打开后已被他人修改（保存了草稿或部署了新版本），"
                                   "请重新打开后再修改，以免覆盖对方的修改")
            if draft is None:
                draft = ProcessDraft(file_name=name)
                session.add(draft)
            draft.content, draft.updated_by_id = content, user.id
            draft.based_on_deployment_id = latest.id if latest else None
            draft.updated_at = clock.now()
            saved.append(draft)
        history.record(session, "process_draft_saved", actor_id=user.id, detail={"files": list(contents)})
        session.flush()
        for draft in saved:
            session.expunge(draft)
        return saved


def discard(db, name: str, user, *others: str) -> None:
    """Delete the draft of `name` (and of `others`, if any). Raises NotFound if `name` has none."""
    with db.transaction() as session:
        if not session.execute(delete(ProcessDraft).where(ProcessDraft.file_name == name)).rowcount:
            raise NotFound(f"no draft of '{name}'")
        session.execute(delete(ProcessDraft).where(ProcessDraft.file_name.in_(others)))
        history.record(session, "process_draft_discarded", actor_id=user.id, detail={"files": [name, *others]})


def compare(session, name: str) -> dict:
    """diff() of the deployed content and the draft (or what open_file shows). Raises NotFound."""
    content, _source = open_file(session, name)
    return diff(deployed_content(session, name) or "", content)


def diff(deployed: str, draft: str) -> dict:
    """{"added", "removed", "changed"}: lists of {"id", "name"} of the elements with ids under
    bpmn:process / dmn:definitions (diagram layout ignored). Changed: same id, other attributes,
    text or children without ids (a lane's flowNodeRefs, a task's extension properties). Raises InvalidInput if either text is not XML."""
    old, new = _elements(deployed), _elements(draft)
    def entry(found, key):
        return {"id": key, "name": found[key][0]}
    return {"added": [entry(new, k) for k in new if k not in old],
            "removed": [entry(old, k) for k in old if k not in new],
            "changed": [entry(new, k) for k in new if k in old and new[k][1] != old[k][1]]}


def bundle(session) -> dict[str, str]:
    """The latest deployment's files with every draft substituted."""
    latest = _latest(session)
    files = dict(latest.files) if latest else repository.read_bundle()
    if not any(name.startswith(repository.FORMS) for name in files):  # deployed before forms were versioned
        files.update({k: v for k, v in repository.read_bundle().items() if k.startswith(repository.FORMS)})
    files.update({d.file_name: d.content for d in session.scalars(select(ProcessDraft))})
    return files


def validate(session) -> list[validation.Problem]:
    """The problems of the bundle with the drafts in it (empty: it may be deployed)."""
    return validation.check(bundle(session))


def deploy(db, user) -> tuple[Deployment, bool]:
    """Deploy the bundle with the drafts in it and delete the drafts. Returns (deployment, created):
    not created when nothing differs from a deployed version. Raises validation.BundleInvalid."""
    with db.transaction() as session:
        deployment, created = repository.deploy(session, bundle(session), deployed_by=user.username)
        names = list(session.scalars(select(ProcessDraft.file_name)))
        session.execute(delete(ProcessDraft))
        history.record(session, "process_deployed", actor_id=user.id,
                       detail={"version": deployment.version, "files": names, "created": created})
        session.flush()
        session.expunge(deployment)
        return deployment, created


def write_back(session, name: str, folder: Path) -> Path:
    """Write what open_file shows for `name` to `folder` (processes/ in development), so it can be
    committed. Raises NotFound."""
    content, _source = open_file(session, name)
    path = folder / name.removeprefix(repository.FORMS)
    path.write_text(content, encoding="utf-8")
    return path


def _check_content(name: str, content: str) -> None:
    if _is_form(name):
        return  # form_files.check() has parsed it (JSON Schema and UI schema)
    if not _is_diagram(name):
        raise InvalidInput(f"'{name}' is not a diagram file name", {"file": ["文件名应以 .bpmn 或 .dmn 结尾"]})
    if not content.strip():
        raise InvalidInput("the diagram is empty", {"content": ["内容为空"]})
    if len(content) > MAX_CHARS:
        raise InvalidInput("the diagram is too large", {"content": ["内容过大"]})
    _parse(content)


def _parse(text: str):
    try:
        return etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        raise InvalidInput(f"not well-formed XML: {err.msg}", {"content": [f"不是格式正确的 XML：{err.msg}"]}) from err


def _elements(text: str) -> dict[str, tuple[str, tuple]]:
    """id -> (name, signature) of the model elements of a diagram or decision table."""
    if not text.strip():
        return {}
    root = _parse(text)
    scopes = root.findall(f"{{{_BPMN}}}process") if etree.QName(root).namespace == _BPMN else [root]
    found = {}
    for scope in scopes:
        for el in scope.iter():
            if isinstance(el.tag, str) and el.get("id") and etree.QName(el).namespace not in _DI:
                found[el.get("id")] = (el.get("name") or "", _signature(el))
    return found


def _signature(el) -> tuple:
    """The element's attributes and text with its children that have no id of their own (those with
    an id are compared, added and removed by themselves)."""
    children = tuple(_signature(c) for c in el
                     if isinstance(c.tag, str) and not c.get("id") and etree.QName(c).namespace not in _DI)
    return (etree.QName(el).localname, tuple(sorted(el.attrib.items())), (el.text or "").strip(), children)
