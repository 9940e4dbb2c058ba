"""Task forms edited in the browser: list forms/, check an edited JSON Schema and UI schema, and
write them back (forms/ in development) so they are committed and reviewed like code."""
import json
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .errors import InvalidInput, NotFound
from .forms import FORMS_DIR

SUFFIX = ".schema.json"
MAX_CHARS = 200_000


def names(folder: Path = FORMS_DIR) -> list[str]:
    """The schema file names of every form."""
    return sorted(p.name for p in folder.glob(f"*{SUFFIX}"))


def read(name: str, folder: Path = FORMS_DIR) -> tuple[str, str]:
    """(schema text, UI schema text) as stored. Raises NotFound."""
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
