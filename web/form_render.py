"""Task forms for people: a form's JSON Schema and UI schema (forms/) become HTML fields, and
a submitted HTML form becomes the typed data the schema describes.

The server decides validity: `parse` only converts (integers, booleans, arrays from
multi-selects and checkboxes, datetime-local to ISO 8601 with +08:00) and drops fields whose
condition does not hold; runtime.forms validates. A field is conditional when it appears only
in the `then` of the schema's `allOf`/`if` blocks (e.g. the return reason when returning);
the page shows it when its condition holds (web/static/inbox.js) and the same rule decides
here what is submitted. Labels are the schema's `title` in Chinese, the UI schema's
`ui:i18n.en` in English; engine messages are shown in the reader's language, by field.
"""
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import get_locale
from flask_babel import gettext as _

from workdays.calendar import TZ


@dataclass
class Field:
    name: str  # dotted path: the input's name and the key of its errors
    label: str
    widget: str  # text textarea number datetime radio select checkbox unit units member attachments group
    required: bool = False  # required whenever it is shown
    help: str | None = None
    placeholder: str | None = None
    options: list = field(default_factory=list)  # (value, label); for unit pickers (group, [(value, label)])
    values: list[str] = field(default_factory=list)  # what the input shows, as strings
    errors: list[str] = field(default_factory=list)
    show_when: list[dict] | None = None  # any of: {field: [values]}, all of whose fields match
    hidden: bool = False  # its condition does not hold for the values shown
    limits: dict = field(default_factory=dict)  # the schema's maxLength, minimum, maximum, maxItems
    children: list["Field"] = field(default_factory=list)
    files: list = field(default_factory=list)  # the appeal's attachments, for the attachments widget

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""

    @property
    def show_when_json(self) -> str:
        return json.dumps(self.show_when, ensure_ascii=False) if self.show_when else ""


def english() -> bool:
    return str(get_locale()) == "en"


def title(schema: dict, ui: dict) -> str:
    en = _english_ui(ui).get("title")
    return en if isinstance(en, str) else schema.get("title", "")  # a field may be called "title" too


def build(schema: dict, ui: dict, values: dict | None = None, errors: dict | None = None,
          units=(), files=(), members=(), sub_units=()) -> tuple[list[Field], list[str]]:
    """(fields, messages for no field). `values` maps names to lists of strings (a submitted
    form; None: the schema's defaults); `errors` maps field paths to engine messages;
    `members` are the task unit's people (id, name, role) for a member picker; `sub_units` the
    units below the task's unit, all a `sub-unit-picker` offers (二级派单, hotline.sub_dispatch)."""
    errors = dict(errors or {})
    unit_groups = {"all": _unit_groups(units), "sub": _unit_groups(sub_units)}
    fields = _fields(schema, ui, _english_ui(ui), "", values, unit_groups, list(files), list(members))
    _place_errors(fields, errors)
    return fields, [_friendly(message, {}) for messages in errors.values() for message in messages]


def parse(schema: dict, ui: dict, form) -> tuple[dict, dict]:
    """(data, errors) from a submitted form (a MultiDict). A value that cannot be converted is
    kept as typed, so that validation fails on it, and its own message is in `errors`."""
    data, errors = {}, {}
    _parse_object(schema, ui, "", form, data, errors)
    return data, errors


def merge_errors(engine_errors: dict, parse_errors: dict) -> dict:
    """Engine messages per field, with conversion messages in place of the engine's for the
    same field (they say what was wrong in the reader's terms)."""
    merged = {path: list(messages) for path, messages in engine_errors.items()
              if not any(path == p or path.startswith(p + ".") for p in parse_errors)}
    merged.update(parse_errors)
    return merged


def describe(schema: dict, ui: dict, data: dict, unit_names: dict, file_names: dict,
             people: dict | None = None) -> list[tuple[str, str]]:
    """(label, readable value) of submitted data, in form order: for the history timeline."""
    fields, _unused = build(schema, ui)
    result = []
    for f in flatten(fields):
        value = _lookup(data, f.name)
        if f.widget == "group" or value is None or value == [] or value == "":
            continue
        result.append((f.label, _readable(f, value, unit_names, file_names, people or {})))
    return result


# -- building fields ----------------------------------------------------------------------

def _fields(schema, ui, en, prefix, values, unit_groups, files, members=()) -> list[Field]:
    props = schema.get("properties", {})
    order = [k for k in ui.get("ui:order", []) if k in props] + [k for k in props if k not in ui.get("ui:order", [])]
    conditions, conditional_required = _conditions(schema)
    result = []
    for key in order:
        prop, name = props[key], prefix + key
        field_ui, field_en = ui.get(key, {}), en.get(key, {}) if isinstance(en.get(key), dict) else {}
        f = Field(name=name, label=field_en.get("title") or prop.get("title", key), widget=_widget(prop, field_ui),
                  required=key in schema.get("required", []) or key in conditional_required,
                  help=field_en.get("help") or field_ui.get("ui:help"),
                  placeholder=field_en.get("placeholder") or field_ui.get("ui:placeholder"),
                  show_when=conditions.get(key), limits=_limits(prop))
        if f.widget == "group":
            f.children = _fields(prop, field_ui, field_en.get("properties", {}), name + ".", values, unit_groups,
                                 files, members)
        f.options = _options(f.widget, prop, field_ui, field_en, unit_groups, files, members)
        f.files = files if f.widget == "attachments" else []
        f.values = _initial(prop) if values is None else list(values.get(name, []))
        result.append(f)
    current = {f.name[len(prefix):]: f.value or ("false" if f.widget == "checkbox" else "") for f in result}
    for f in result:
        f.hidden = bool(f.show_when) and not _holds(f.show_when, current)
    return result


def _widget(prop: dict, field_ui: dict) -> str:
    kind, widget = prop.get("type"), field_ui.get("ui:widget")
    named = {"radio": "radio", "checkbox": "checkbox", "textarea": "textarea", "unit-picker": "unit",
             "unit-multi-picker": "units", "sub-unit-picker": "unit", "unit-member-picker": "member", "attachments": "attachments",
             "datetime": "datetime"}
    if widget in named:
        return named[widget]
    if kind == "object":
        return "group"
    if kind == "boolean":
        return "checkbox"
    if kind == "integer":
        return "number"
    if kind == "array":
        return "select"
    if prop.get("format") == "date-time":
        return "datetime"
    return "select" if "enum" in prop else "text"


def _options(widget, prop, field_ui, field_en, unit_groups, files, members=()) -> list:
    if widget in ("unit", "units"):
        return unit_groups["sub" if field_ui.get("ui:widget") == "sub-unit-picker" else "all"]
    if widget == "member":  # the people of the task's unit in the roles the UI schema names
        roles = field_ui.get("ui:options", {}).get("roles")
        return [(str(i), name) for i, name, role in members if not roles or role in roles]
    if widget == "attachments":
        return [(str(f.id), f.filename) for f in files]
    names = field_en.get("enumNames") or field_ui.get("ui:enumNames")
    if prop.get("type") == "boolean":
        return list(zip(("true", "false"), names or (_("是"), _("否")), strict=True)) if widget == "radio" else []
    enum = prop.get("enum") or prop.get("items", {}).get("enum") or []
    return [(str(v), names[i] if names and i < len(names) else str(v)) for i, v in enumerate(enum)]


def _limits(prop: dict) -> dict:
    return {k: prop[k] for k in ("maxLength", "minimum", "maximum", "maxItems") if k in prop}


def _initial(prop: dict) -> list[str]:
    default = prop.get("default")
    if default is None:
        return []
    if isinstance(default, bool):
        return ["true" if default else "false"]
    return [str(v) for v in default] if isinstance(default, list) else [str(default)]


def _conditions(schema: dict) -> tuple[dict, set]:
    """{field: [{controller: [values]}]} for fields that appear only under `then`, and the
    fields those blocks make required."""
    shown, required = {}, set()
    for block in schema.get("allOf", []):
        when = {name: [as_text(v) for v in ([spec["const"]] if "const" in spec else spec.get("enum", []))]
                for name, spec in block.get("if", {}).get("properties", {}).items()}
        then = block.get("then", {})
        required.update(then.get("required", []))
        for name in {*then.get("required", []), *then.get("properties", {})}:
            shown.setdefault(name, []).append(when)
    return shown, required


def _holds(whens: list[dict], current: dict) -> bool:
    return any(all(current.get(name, "") in allowed for name, allowed in when.items()) for when in whens)


def _unit_groups(units) -> list:
    groups: dict[str, list] = {}
    for unit in units:
        groups.setdefault(unit.region.name, []).append((str(unit.id), unit.name))
    return list(groups.items())


def _place_errors(fields: list[Field], errors: dict) -> None:
    """Move each message to the field whose name is the longest prefix of its path."""
    by_name = {f.name: f for f in flatten(fields)}
    for path in list(errors):
        parts = path.split(".")
        for n in range(len(parts), 0, -1):
            target = by_name.get(".".join(parts[:n]))
            if target is not None:
                limits = {} if n < len(parts) else target.limits  # an array item's own bounds are in the message
                target.errors.extend(_friendly(m, limits) for m in errors.pop(path))
                break


def flatten(fields: list[Field]) -> list[Field]:
    result = []
    for f in fields:
        result.append(f)
        result.extend(flatten(f.children))
    return result


def _friendly(message: str, limits: dict) -> str:
    """jsonschema's English messages in the reader's terms; the engine's own (Chinese)
    messages translated through the catalog."""
    bound = re.search(r"(-?\d+)\s*$", message)
    bound = bound.group(1) if bound else ""
    if "is too long" in message:
        if "maxItems" in limits:
            return _("最多选择 %(n)s 项", n=limits["maxItems"])
        return _("不能超过 %(n)s 个字", n=limits.get("maxLength", bound))
    if "is too short" in message or "should be non-empty" in message:
        return _("必填项")
    if "less than the minimum" in message:
        return _("不能小于 %(n)s", n=bound or limits.get("minimum", ""))
    if "greater than the maximum" in message:
        return _("不能大于 %(n)s", n=bound or limits.get("maximum", ""))
    if "is not one of" in message:
        return _("请从选项中选择")
    if "is not of type 'integer'" in message:
        return _("请输入整数")
    if "is not a 'date-time'" in message:
        return _("请输入有效的日期和时间")
    if "non-unique" in message:
        return _("不能重复选择")
    if "does not match" in message or "is not of type" in message:
        return _("格式不正确")
    return _(message)


# -- parsing a submitted form -------------------------------------------------------------

def _parse_object(schema, ui, prefix, form, data, errors) -> None:
    props = schema.get("properties", {})
    for key, prop in props.items():
        name, field_ui = prefix + key, ui.get(key, {})
        widget = _widget(prop, field_ui)
        if widget == "group":
            data[key] = {}
            _parse_object(prop, field_ui, name + ".", form, data[key], errors)
            continue
        raw = [v for v in form.getlist(name) if v.strip()] if prop.get("type") == "array" else form.get(name, "")
        value = _convert(prop, widget, raw, name, errors)
        if value is not None:
            data[key] = value
    conditions, _unused = _conditions(schema)
    current = {key: as_text(value) for key, value in data.items()}
    for key, whens in conditions.items():
        if key in data and not _holds(whens, current):
            del data[key]  # hidden on the page: not part of the submission


def _convert(prop, widget, raw, name, errors):
    kind = prop.get("type")
    if kind == "array":
        item_kind = prop.get("items", {}).get("type")
        return [_integer(v, name, errors) if item_kind == "integer" else v for v in raw]
    if kind == "boolean":
        if widget == "checkbox":
            return raw in ("on", "true", "1")
        return {"true": True, "false": False}.get(raw.strip(), raw.strip() or None)
    text = raw.replace("\r\n", "\n").strip()
    if not text:
        return None
    if kind == "integer":
        return _integer(text, name, errors)
    if widget == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            errors[name] = [_("请输入有效的日期和时间")]
            return text
        return (moment if moment.tzinfo else moment.replace(tzinfo=TZ)).isoformat()
    return text


def _integer(text: str, name: str, errors: dict):
    try:
        return int(text.strip())
    except ValueError:
        errors[name] = [_("请输入整数")]
        return text


# -- reading submitted data back ---------------------------------------------------------

def _lookup(data: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _readable(f: Field, value, unit_names: dict, file_names: dict, people: dict) -> str:
    if f.widget == "member":
        return people.get(value, f"#{value}")
    if f.widget in ("unit", "units"):
        ids = value if isinstance(value, list) else [value]
        return "、".join(unit_names.get(i, str(i)) for i in ids)
    if f.widget == "attachments":
        return "、".join(file_names.get(i, f"#{i}") for i in value)
    if isinstance(value, bool):
        labels = dict(f.options) or {"true": _("是"), "false": _("否")}
        return labels.get(as_text(value), as_text(value))
    if f.options and not isinstance(value, list):
        return dict(f.options).get(str(value), str(value))
    if f.widget == "datetime":
        try:
            return datetime.fromisoformat(value).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
        except (TypeError, ValueError):
            return str(value)
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)


def as_text(value) -> str:
    """A value as the page's inputs carry it (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _english_ui(ui: dict) -> dict:
    return ui.get("ui:i18n", {}).get("en", {}) if english() else {}
