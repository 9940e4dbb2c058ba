"""Static checks on the user-task forms in forms/ and a few behaviour cases."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from hotline.extension import WRITABLE_APPEAL_FIELDS

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
PROCESSES = ROOT / "processes"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

SCHEMA_FILES = sorted(FORMS.glob("*.schema.json"))
EXPECTED_FORMS = {
    "register_appeal",
    "assess_appeal",
    "dispatch",
    "sign_for",
    "handle_return",
    "assign_handler",
    "co_handle",
    "record_result",
    "leader_review",
    "reply_appellant",
    "return_visit",
    "find_responsibility",
    "extension_consent",
    "extension_approval",
}


def form_name(path: Path) -> str:
    return path.name[: -len(".schema.json")]


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def load_schema(name: str):
    return load(FORMS / f"{name}.schema.json")


def load_uischema(name: str):
    return load(FORMS / f"{name}.uischema.json")


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), format_checker=FormatChecker())


def is_valid(name: str, data) -> bool:
    return validator(name).is_valid(data)


def walk_properties(schema, path=()):
    """Yield (path, property schema) for every property, descending into objects."""
    for key, prop in schema.get("properties", {}).items():
        yield path + (key,), prop
        if prop.get("type") == "object":
            yield from walk_properties(prop, path + (key,))


forms_param = pytest.mark.parametrize("schema_path", SCHEMA_FILES, ids=form_name)


def test_all_expected_forms_exist():
    assert EXPECTED_FORMS <= {form_name(p) for p in SCHEMA_FILES}


@forms_param
def test_schema_is_valid_draft_2020_12(schema_path):
    schema = load(schema_path)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == schema_path.name
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert isinstance(schema["title"], str) and schema["title"]
    assert set(schema["required"]) <= set(schema["properties"])


@forms_param
def test_properties_are_titled_and_constrained(schema_path):
    schema = load(schema_path)
    for path, prop in walk_properties(schema):
        assert prop.get("title"), path
        if prop.get("type") == "string" and "enum" not in prop:
            assert "maxLength" in prop, f"{path} has no maxLength"
        if prop.get("type") == "array":
            assert "maxItems" in prop, path
            if prop["items"].get("type") == "integer":
                assert prop.get("uniqueItems") is True, path
        if prop.get("type") == "object":
            assert prop.get("additionalProperties") is False, path
            assert set(prop.get("required", [])) <= set(prop["properties"]), path


@forms_param
def test_custom_keywords_name_properties(schema_path):
    schema = load(schema_path)
    props = set(schema["properties"])
    variables = schema.get("x-process-variables", [])
    assert isinstance(variables, list)
    assert len(variables) == len(set(variables))
    assert set(variables) <= props
    record_fields = schema.get("x-record-fields", {})
    assert isinstance(record_fields, dict)
    assert set(record_fields) <= props
    assert set(record_fields.values()) <= WRITABLE_APPEAL_FIELDS  # columns the hotline keeps them in


def check_ui_level(schema, ui, en, where):
    props = schema["properties"]
    assert isinstance(ui.get("ui:order"), list), f"{where}: no ui:order"
    assert sorted(ui["ui:order"]) == sorted(props), f"{where}: ui:order != properties"
    assert len(ui["ui:order"]) == len(set(ui["ui:order"])), where
    # ui entries only for real properties
    field_keys = {k for k in ui if not k.startswith("ui:")}
    assert field_keys <= set(props), f"{where}: uischema has unknown fields {field_keys - set(props)}"
    for key, prop in props.items():
        label = f"{where}.{key}"
        en_entry = en.get(key)
        assert isinstance(en_entry, dict) and en_entry.get("title"), f"{label}: no English title"
        field_ui = ui.get(key, {})
        if "enum" in prop:
            assert len(en_entry.get("enumNames", [])) == len(prop["enum"]), label
            assert len(field_ui.get("ui:enumNames", [])) == len(prop["enum"]), label
        elif "ui:enumNames" in field_ui:
            assert prop.get("type") == "boolean", label
            assert len(field_ui["ui:enumNames"]) == 2, label
            assert len(en_entry.get("enumNames", [])) == 2, label
        if "ui:help" in field_ui:
            assert en_entry.get("help"), f"{label}: help not translated"
        if "ui:placeholder" in field_ui:
            assert en_entry.get("placeholder"), f"{label}: placeholder not translated"
        if prop.get("type") == "object":
            check_ui_level(prop, field_ui, en_entry.get("properties", {}), label)


@forms_param
def test_uischema_matches_schema(schema_path):
    name = form_name(schema_path)
    ui_path = FORMS / f"{name}.uischema.json"
    assert ui_path.is_file(), f"missing {ui_path.name}"
    schema = load(schema_path)
    ui = load(ui_path)
    en = ui["ui:i18n"]["en"]
    assert en.get("title")
    check_ui_level(schema, ui, en, name)


def bpmn_form_references():
    refs = []
    for bpmn in sorted(PROCESSES.glob("*.bpmn")):
        tree = ET.parse(bpmn)
        for prop in tree.iter(f"{{{SPIFF_NS}}}property"):
            if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename"):
                refs.append((bpmn.name, prop.get("value")))
    return refs


def test_bpmn_form_references_exist():
    refs = bpmn_form_references()
    assert refs, "no form references found in processes/*.bpmn"
    missing = [(bpmn, value) for bpmn, value in refs if not (FORMS / value).is_file()]
    assert not missing, missing


# ---------------------------------------------------------------- behaviour


APPELLANT = {"kind": "citizen", "phone": "13800000000"}
REGISTER_OK = {
    "channel": "phone",
    "appeal_type": "complaint",
    "title": "小区噪音扰民",
    "content": "夜间施工噪音严重。",
    "appellant": APPELLANT,
}


def test_register_appeal():
    assert is_valid("register_appeal", REGISTER_OK)
    assert is_valid("register_appeal", {**REGISTER_OK, "region_code": "330106", "urgent": True})
    assert not is_valid("register_appeal", {**REGISTER_OK, "channel": "fax"})
    assert not is_valid("register_appeal", {**REGISTER_OK, "extra": 1})
    assert not is_valid("register_appeal", {**REGISTER_OK, "title": ""})
    assert not is_valid("register_appeal", {**REGISTER_OK, "title": "x" * 101})
    assert not is_valid("register_appeal", {**REGISTER_OK, "region_code": "33010"})
    assert not is_valid("register_appeal", {**REGISTER_OK, "appellant": {"kind": "citizen"}})
    assert not is_valid("register_appeal", {**REGISTER_OK, "appellant": {**APPELLANT, "phone": "abc"}})
    assert not is_valid("register_appeal", {**REGISTER_OK, "appellant": {**APPELLANT, "x": 1}})
    no_appellant = {k: v for k, v in REGISTER_OK.items() if k != "appellant"}
    assert not is_valid("register_appeal", no_appellant)


def test_assess_appeal():
    assert is_valid("assess_appeal", {"assessment": "dispatch", "emergency": True})
    assert not is_valid(
        "assess_appeal", {"assessment": "not_accepted", "not_accepted_reason": "outside_province"}
    )
    assert not is_valid("assess_appeal", {"assessment": "not_accepted", "guidance": "请向外省反映"})
    assert not is_valid(
        "assess_appeal",
        {"assessment": "not_accepted", "guidance": "", "not_accepted_reason": "outside_province"},
    )
    assert is_valid(
        "assess_appeal",
        {"assessment": "not_accepted", "guidance": "请向外省反映", "not_accepted_reason": "outside_province"},
    )
    assert not is_valid(
        "assess_appeal", {"assessment": "not_accepted", "guidance": "g", "not_accepted_reason": "bogus"}
    )
    assert not is_valid("assess_appeal", {"assessment": "answer_on_spot"})
    assert is_valid("assess_appeal", {"assessment": "answer_on_spot", "answer": "已答复"})


def test_dispatch_and_handle_return():
    assert is_valid("dispatch", {"lead_unit_id": 3, "co_unit_ids": [4, 5]})
    assert not is_valid("dispatch", {"co_unit_ids": [4]})
    assert not is_valid("dispatch", {"lead_unit_id": 0})
    assert not is_valid("dispatch", {"lead_unit_id": 3, "co_unit_ids": [4, 4]})
    assert not is_valid("dispatch", {"lead_unit_id": 3, "co_unit_ids": list(range(1, 12))})
    assert not is_valid("handle_return", {"return_decision": "redispatch"})
    assert is_valid("handle_return", {"return_decision": "redispatch", "lead_unit_id": 7})
    assert is_valid("handle_return", {"return_decision": "fallback"})


def test_sign_for():
    assert is_valid("sign_for", {"sign_decision": "sign"})
    assert not is_valid("sign_for", {"sign_decision": "return"})
    assert is_valid("sign_for", {"sign_decision": "return", "return_reason": "不属本单位职责"})
    assert not is_valid("sign_for", {"sign_decision": "maybe"})


def test_record_result():
    assert not is_valid(
        "record_result", {"result_action": "apply_extension", "extension_reason": "需协调多部门"}
    )
    assert is_valid(
        "record_result",
        {"result_action": "apply_extension", "extension_days": 10, "extension_reason": "需协调多部门"},
    )
    assert not is_valid(
        "record_result",
        {"result_action": "apply_extension", "extension_days": 31, "extension_reason": "需协调多部门"},
    )
    assert not is_valid("record_result", {"result_action": "submit_result"})
    assert is_valid(
        "record_result",
        {"result_action": "submit_result", "result": "已整改", "resolved": True, "attachment_ids": [1, 2]},
    )
    assert not is_valid(
        "record_result", {"result_action": "submit_result", "result": "已整改", "attachment_ids": [1, 1]}
    )


def test_review_reply_visit_and_extension():
    assert not is_valid("leader_review", {"review_decision": "send_back"})
    assert is_valid("leader_review", {"review_decision": "approve"})
    assert not is_valid("reply_appellant", {"reply_method": "sms", "reply_content": "已处理"})
    assert is_valid(
        "reply_appellant",
        {
            "reply_method": "sms",
            "appellant_reached": True,
            "reply_content": "已处理",
            "replied_at": "2024-05-01T10:00:00+08:00",
        },
    )
    assert not is_valid("return_visit", {"visit_method": "phone", "evaluation": "happy"})
    assert is_valid("return_visit", {"visit_method": "phone", "evaluation": "dissatisfied"})
    assert not is_valid("find_responsibility", {"organizer_fault": True})
    assert not is_valid("extension_consent", {})
    assert not is_valid("extension_approval", {"extension_approved": True})
    assert is_valid("extension_approval", {"extension_approved": True, "approved_days": 5})
    assert is_valid("extension_approval", {"extension_approved": False})


def test_reply_time_is_date_time():
    assert load_schema("reply_appellant")["properties"]["replied_at"]["format"] == "date-time"


@pytest.mark.skipif(
    "date-time" not in FormatChecker().checkers, reason="date-time format checking needs rfc3339-validator"
)
def test_reply_time_format_is_enforced():
    assert not is_valid(
        "reply_appellant",
        {
            "reply_method": "sms",
            "appellant_reached": True,
            "reply_content": "已处理",
            "replied_at": "yesterday",
        },
    )
