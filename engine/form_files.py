"""Task forms edited in the browser: list forms/, check an edited JSON Schema and UI schema, and
write them back (forms/ in development) so they are committed and reviewed like code."""
import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from . import forms
from .errors import InvalidInput, NotFound

SUFFIX = ".schema.json"
MAX_CHARS = 200_000
STEM = re.compile(r"^[a-z][a-z0-9_]{2,59}$")


def names(folder: Path | None = None) -> list[str]:
    """The schema file names of every form."""
    return sorted(p.name for p in (folder or forms.FORMS_DIR).glob(f"*{SUFFIX}"))


def read(name: str, folder: Path | None = None) -> tuple[str, str]:
    """(schema text, UI schema text) as stored. Raises NotFound."""
    folder = folder or forms.FORMS_DIR
    if name not in names(folder):
        raise NotFound(f"form '{name}' does not exist")
    ui = folder / ui_name(name)
    return (folder / name).read_text(encoding="utf-8"), ui.read_text(encoding="utf-8") if ui.is_file() else "{}"


def ui_name(name: str) -> str:
    return name.removesuffix(SUFFIX) + ".uischema.json"


def check(schema_text: str, ui_text: str) -> tuple[dict, dict]:
    """(schema, ui) parsed; raises InvalidInput with messages under "schema" / "ui" when either is
    not a JSON object or the schema is not a valid JSON Schema (draft 2020-12)."""
    errors: dict[str, list[str]] = {}
    parsed = {}
    for key, text in (("schema", schema_text), ("ui", ui_text)):
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


def write(name: str, schema_text: str, ui_text: str, folder: Path) -> None:
    """Check and write both files of form `name` (one of forms/) into `folder`. Raises NotFound,
    InvalidInput."""
    if name not in names():
        raise NotFound(f"form '{name}' does not exist")
    check(schema_text, ui_text)
    (folder / name).write_text(schema_text, encoding="utf-8")
    (folder / ui_name(name)).write_text(ui_text, encoding="utf-8")


def create(stem: str, title: str, folder: Path) -> str:
    """Start a new form `<stem>.schema.json` in `folder` for a new user task: one optional note
    field the analyst then edits. Returns its file name. Raises InvalidInput (bad or taken name,
    no title)."""
    stem, title = (stem or "").strip(), (title or "").strip()
    errors: dict[str, list[str]] = {}
    if not STEM.match(stem):
        errors["stem"] = ["文件名须以小写字母开头，只含小写字母、数字和下划线（3–60 个字符）"]
    elif stem + SUFFIX in names() or (folder / (stem + SUFFIX)).exists():
        errors["stem"] = [f"表单 {stem}{SUFFIX} 已存在"]
    if not title or len(title) > 100:
        errors["title"] = ["请填写表单标题（最多 100 个字符）"]
    if errors:
        raise InvalidInput("the new form is not valid", errors)
    name = stem + SUFFIX
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, "title": title,
              "type": "object", "additionalProperties": False,
              "properties": {"note": {"type": "string", "title": "说明", "maxLength": 1000}}}
    text = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    (folder / name).write_text(text, encoding="utf-8")
    (folder / ui_name(name)).write_text('{\n  "note": {"ui:widget": "textarea"}\n}\n', encoding="utf-8")
    return name
