"""User-task forms: JSON Schema (+ UI schema) files in the registry's forms folder, validated
server-side.

The forms folder is what the next deployment takes; each deployment keeps its own copy, so a
running instance's tasks keep the forms of the version it runs on. Pages that are not a process
step (the intake console) read the folder directly.

A schema's custom keywords say where submitted fields go:
- `x-process-variables`: copied into the workflow's data (decisions and ids, kept small);
- `x-record-fields`: {field: column} handed to the application's extension, which keeps them on
  its own record (long texts the diagram need not carry);
- `x-process-rules`: {"variables": [...], "allOf": [JSON Schema...]}: rules checked when the task
  is completed, which may also read what the process already knows (an analyst's "photos are
  required when the matter is on site"). The submission, with the named process variables laid
  over it, must match every schema in `allOf`; the variables win over submitted fields of the
  same name, so a form cannot answer for the process. Unlike the schema's own `allOf`, these
  never hide a field on the page (web/form_render.py shows a field named only under `then`
  when its condition holds).
Everything submitted is also kept in history.
"""
import json
from functools import cache, lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from . import registry
from .errors import InvalidInput, NotFound

BUNDLE_PREFIX = "forms/"  # the forms' keys in a deployed bundle (runtime/repository.py)


def load(name: str, bundle: dict | None = None) -> tuple[dict, dict]:
    """(schema, ui_schema) of a form, by schema file name: from a deployed bundle when it holds
    the form (a task uses the forms of its instance's version), else from the forms folder.
    Raises NotFound."""
    return _cached(name, bundle)[:2]


def _cached(name: str, bundle: dict | None):
    if not name.endswith(".schema.json") or "/" in name or "\\" in name:
        raise NotFound(f"form '{name}' does not exist")
    ui_name = name.replace(".schema.json", ".uischema.json")
    if bundle and BUNDLE_PREFIX + name in bundle:
        return _parse(bundle[BUNDLE_PREFIX + name], bundle.get(BUNDLE_PREFIX + ui_name, "{}"))
    folder = registry.current().forms_dir
    path, ui_path = folder / name, folder / ui_name
    if not path.is_file():
        raise NotFound(f"form '{name}' does not exist")
    # by modification time, so a form changed in forms/ is read again by every process
    return _read(path, ui_path, path.stat().st_mtime_ns, ui_path.stat().st_mtime_ns if ui_path.is_file() else 0)


@cache
def _read(path: Path, ui_path: Path, _mtime: int, _ui_mtime: int):
    return _parse(path.read_text(encoding="utf-8"), ui_path.read_text(encoding="utf-8") if ui_path.is_file() else "{}")


@lru_cache(maxsize=512)
def _parse(schema_text: str, ui_text: str):
    schema = json.loads(schema_text)
    rules = schema.get("x-process-rules") or {}
    rules_validator = Draft202012Validator({"allOf": rules.get("allOf", [])}) if rules else None
    return (schema, json.loads(ui_text), Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER),
            tuple(rules.get("variables", ())), rules_validator)


def validate(name: str, data, bundle: dict | None = None, process_data: dict | None = None) -> dict:
    """Return `data` if valid; raise InvalidInput with messages per field path ("appellant.phone").
    `process_data` (the task's workflow data) feeds the form's `x-process-rules`; without it
    (a draft check outside a task) those rules are not applied."""
    if not isinstance(data, dict):
        raise InvalidInput("form data must be a JSON object", {"_schema": ["应为 JSON 对象"]})
    _schema, _ui, validator, variables, rules = _cached(name, bundle)
    errors = _errors(validator, data)
    if rules is not None and process_data is not None and not errors:
        errors = _errors(rules, {**data, **{v: process_data.get(v) for v in variables}})
    if errors:
        raise InvalidInput("submitted data does not match the form", errors)
    return data


def _errors(validator: Draft202012Validator, data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            path = f"{path}.{missing}" if path else missing
            message = "必填项"
        elif error.validator == "additionalProperties":
            message = f"不允许的字段：{error.message}"
        elif error.validator == "pattern" and "x-message" in error.schema:
            message = error.schema["x-message"]  # the form's own words for what the pattern refuses
        else:
            message = error.message
        errors.setdefault(path or "_schema", []).append(message)
    return errors


def split(name: str, data: dict, current: dict, bundle: dict | None = None) -> tuple[dict, dict]:
    """(process variables, record fields) of a valid submission. A process variable left out
    takes the schema default, keeps its current value, or becomes None so gateways can test it."""
    schema, _ = load(name, bundle)
    variables = {}
    for var in schema.get("x-process-variables", []):
        if var in data:
            variables[var] = data[var]
        elif "default" in schema["properties"][var]:
            variables[var] = schema["properties"][var]["default"]
        elif var not in current:
            variables[var] = None
    fields = {column: data.get(field) for field, column in schema.get("x-record-fields", {}).items()
              if field in data}
    return variables, fields
