"""Task forms edited in the browser. An edited form is a draft (runtime/drafts.py), deployed with
the diagrams as part of the next version, so running appeals keep the forms of their version;
it can also be written back to forms/ to be committed and reviewed like code."""
import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from . import drafts, repository
from .errors import InvalidInput, NotFound

SUFFIX = ".schema.json"
MAX_CHARS = 200_000
STEM = re.compile(r"^[a-z][a-z0-9_]{2,59}$")


def names(session) -> dict[str, bool]:
    """The schema file name of every form -> whether it has a draft."""
    return drafts.form_names(session)


def ui_name(name: str) -> str:
    return name.removesuffix(SUFFIX) + ".uischema.json"


def _keys(name: str) -> tuple[str, str]:
    return repository.FORMS + name, repository.FORMS + ui_name(name)


def read(session, name: str) -> tuple[str, str, str]:
    """(schema text, UI schema text, source: "draft", "deployed" or "repository"). Raises NotFound."""
    if name not in names(session):
        raise NotFound(f"form '{name}' does not exist")
    schema, source = drafts.open_file(session, _keys(name)[0])
    try:
        ui, _ = drafts.open_file(session, _keys(name)[1])
    except NotFound:
        ui = "{}"
    return schema, ui, source


def check(schema_text: str, ui_text: str) -> tuple[dict, dict]:
    """(schema, ui) parsed; raises InvalidInput with messages under "schema" / "ui" when either is
    not a JSON object or the schema is not a valid JSON Schema (draft 2020-12)."""
    errors: dict[str, list[str]] = {}
    parsed = {}
    for key, text in (("schema", schema_text), ("ui", ui_text)):
        if key == "schema" and not text.strip():
            errors[key] = ["内容为空"]
            continue
        if len(text) > MAX_CHARS:
            errors[key] = [f"内容过大（最多 {MAX_CHARS} 字符）"]
            continue
        try:
            parsed[key] = json.loads(text or "{}")
        except json.JSONDecodeError as err:
            errors[key] = [f"JSON 格式错误（第 {err.lineno} 行第 {err.colno} 列）：{err.msg}"]
            continue
        if not isinstance(parsed[key], dict):
            errors[key] = ["应为 JSON 对象"]
    if "schema" in parsed and "schema" not in errors:
        try:
            Draft202012Validator.check_schema(parsed["schema"])
        except SchemaError as err:
            path = "/".join(str(p) for p in err.path) or "(root)"
            errors["schema"] = [f"不是有效的 JSON Schema（{path}）：{err.message}"]
        if parsed["schema"].get("type", "object") != "object":
            errors.setdefault("schema", []).append("表单的 JSON Schema 顶层应为 object")
    if errors:
        raise InvalidInput("the form is not valid", errors)
    return parsed["schema"], parsed["ui"]


def save(db, name: str, schema_text: str, ui_text: str, user, based_on: tuple[str, str] | None = None) -> None:
    """Check both texts and keep them as the form's draft; `based_on` holds drafts.fingerprint()
    of the schema and UI schema the editor opened. Raises NotFound, InvalidInput, Conflict
    (changed by someone else since)."""
    with db.read() as session:
        if name not in names(session):
            raise NotFound(f"form '{name}' does not exist")
    check(schema_text, ui_text)
    keys = _keys(name)
    drafts.save_drafts(db, dict(zip(keys, (schema_text, ui_text or "{}"))), user,
                       dict(zip(keys, based_on)) if based_on else None)


def discard(db, name: str, user) -> None:
    """Drop the form's draft. Raises NotFound if it has none."""
    schema_key, ui_key = _keys(name)
    try:
        drafts.discard(db, schema_key, user, ui_key)
    except NotFound:
        drafts.discard(db, ui_key, user)


def write_back(session, name: str, folder: Path) -> None:
    """Write both files as open_file shows them into `folder` (forms/ in development)."""
    schema, ui, _source = read(session, name)
    (folder / name).write_text(schema, encoding="utf-8")
    (folder / ui_name(name)).write_text(ui, encoding="utf-8")


def create(db, stem: str, title: str, user) -> str:
    """Start a draft form `<stem>.schema.json` for a new user task: one optional note field the
    analyst then edits. Returns its file name. Raises InvalidInput (bad or taken name, no title)."""
    stem, title = (stem or "").strip(), (title or "").strip()
    errors: dict[str, list[str]] = {}
    if not STEM.match(stem):
        errors["stem"] = ["文件名须以小写字母开头，只含小写字母、数字和下划线（3–60 个字符）"]
    else:
        with db.read() as session:
            if stem + SUFFIX in names(session):
                errors["stem"] = [f"表单 {stem}{SUFFIX} 已存在"]
    if not title or len(title) > 100:
        errors["title"] = ["请填写表单标题（最多 100 个字符）"]
    if errors:
        raise InvalidInput("the new form is not valid", errors)
    name = stem + SUFFIX
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, "title": title,
              "type": "object", "additionalProperties": False,
              "properties": {"note": {"type": "string", "title": "说明", "maxLength": 1000}}}
    ui = {"note": {"ui:widget": "textarea"}}
    drafts.save_drafts(db, {repository.FORMS + name: json.dumps(schema, ensure_ascii=False, indent=2) + "\n",
                            repository.FORMS + ui_name(name): json.dumps(ui, indent=2) + "\n"}, user)
    return name
