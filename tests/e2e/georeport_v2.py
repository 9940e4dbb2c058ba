"""The GeoReport v2 field lists (wiki.open311.org/GeoReport_v2, Service_Discovery) as schemas the
Open311 tests check every answer against: a JSON Schema per answer and an XML Schema made
from the same lists (an array is an element with one child per item, as the specification's
XML examples show it; fields in any order; booleans true/false; times W3C with an offset)."""
import json

from jsonschema import Draft202012Validator
from lxml import etree

DATETIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$"
TEXT, BOOL, INT = {"type": ["string", "null"]}, {"type": "boolean"}, {"type": "integer"}
WHEN = {"type": ["string", "null"], "pattern": DATETIME}

SERVICE = {"service_code": TEXT, "service_name": TEXT, "description": TEXT, "metadata": BOOL,
           "type": {"enum": ["realtime", "batch", "blackbox"]}, "keywords": TEXT, "group": TEXT}
VALUE = {"key": TEXT, "name": TEXT}
ATTRIBUTE = {"variable": BOOL, "code": TEXT,
             "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
             "required": BOOL, "datatype_description": TEXT, "order": INT, "description": TEXT,
             "values": {"type": "array", "items": {"type": "object", "properties": VALUE, "required": list(VALUE),
                                                   "additionalProperties": False}}}
CREATED = {"token": TEXT, "service_request_id": TEXT, "service_notice": TEXT, "account_id": TEXT}
REQUEST = {"service_request_id": TEXT, "status": {"enum": ["open", "closed"]}, "status_notes": TEXT,
           "service_name": TEXT, "service_code": TEXT, "description": TEXT, "agency_responsible": TEXT,
           "service_notice": TEXT, "requested_datetime": WHEN, "updated_datetime": WHEN, "expected_datetime": WHEN,
           "address": TEXT, "address_id": TEXT, "zipcode": TEXT, "lat": {"type": ["number", "null"]},
           "long": {"type": ["number", "null"]}, "media_url": TEXT}
TOKEN = {"service_request_id": TEXT, "token": TEXT}
ERROR = {"code": INT, "description": {"type": "string", "minLength": 1}}
ENDPOINT = {"specification": TEXT, "url": TEXT, "changeset": TEXT, "type": {"enum": ["production", "test"]},
            "formats": {"type": "array", "items": {"enum": ["text/xml", "application/json"]}}}
DISCOVERY = {"changeset": TEXT, "contact": TEXT, "key_service": TEXT,
             "endpoints": {"type": "array", "minItems": 1, "items": {
                 "type": "object", "properties": ENDPOINT, "required": list(ENDPOINT), "additionalProperties": False}}}
DEFINITION = {"service_code": TEXT, "attributes": {"type": "array", "items": {
    "type": "object", "properties": ATTRIBUTE, "required": [k for k in ATTRIBUTE if k != "values"],
    "additionalProperties": False}}}

# answer -> (root element, item element or None for one object, fields, fields every item has)
ANSWERS = {
    "services": ("services", "service", SERVICE, ["service_code", "service_name", "metadata", "type"]),
    "definition": ("service_definition", None, DEFINITION, list(DEFINITION)),
    "created": ("service_requests", "request", CREATED, []),
    "requests": ("service_requests", "request", REQUEST, ["service_request_id", "status", "service_code",
                                                          "requested_datetime"]),
    "token": ("service_requests", "request", TOKEN, list(TOKEN)),
    "errors": ("errors", "error", ERROR, list(ERROR)),
    "discovery": ("discovery", None, DISCOVERY, list(DISCOVERY)),
}


def json_schema(answer: str) -> dict:
    _root, item, fields, required = ANSWERS[answer]
    one = {"type": "object", "properties": fields, "required": required, "additionalProperties": False}
    return one if item is None else {"type": "array", "items": one}


def check_json(answer: str, response) -> list | dict:
    """The JSON body, after checking the content type and the schema (raises on any problem)."""
    assert response.headers["Content-Type"] == "application/json; charset=utf-8", response.headers["Content-Type"]
    body = json.loads(response.data.decode("utf-8"))
    Draft202012Validator(json_schema(answer)).validate(body)
    if answer == "created":
        assert all(("token" in r) != ("service_request_id" in r) for r in body), "token or id, not both"
    return body


# -- XML ----------------------------------------------------------------------------------------

LISTS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _xsd_type(name: str, spec: dict) -> str:
    """An element declaration for one field of the lists above."""
    if spec.get("type") == "array":
        item = spec["items"]
        inner = (f'<xs:complexType><xs:all>{_fields(item["properties"], item.get("required", []))}</xs:all>'
                 "</xs:complexType>" if item.get("type") == "object" else "")
        typed = "" if inner else ' type="xs:string"'
        return (f'<xs:element name="{name}" minOccurs="0"><xs:complexType><xs:sequence>'
                f'<xs:element name="{LISTS[name]}" minOccurs="0" maxOccurs="unbounded"{typed}>{inner}</xs:element>'
                "</xs:sequence></xs:complexType></xs:element>")
    kind = {"boolean": "xs:boolean", "integer": "xs:integer"}.get(spec.get("type")) \
        if isinstance(spec.get("type"), str) else None  # a nullable value: any text, empty for null
    if kind is None and spec.get("pattern") == DATETIME:
        kind = "when"
    return f'<xs:element name="{name}" type="{kind or "xs:string"}" minOccurs="0"/>'


def _fields(fields: dict, required: list) -> str:
    parts = []
    for name, spec in fields.items():
        declared = _xsd_type(name, spec)
        parts.append(declared.replace(' minOccurs="0"', "", 1) if name in required else declared)
    return "".join(parts)


def xml_schema(answer: str) -> etree.XMLSchema:
    root, item, fields, required = ANSWERS[answer]
    body = f"<xs:all>{_fields(fields, required)}</xs:all>"
    if item is not None:
        body = (f'<xs:sequence><xs:element name="{item}" minOccurs="0" maxOccurs="unbounded">'
                f"<xs:complexType>{body}</xs:complexType></xs:element></xs:sequence>")
    return etree.XMLSchema(etree.fromstring(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:simpleType name="when"><xs:restriction base="xs:string"><xs:pattern value="(|{DATETIME[1:-1]})"/>'
        "</xs:restriction></xs:simpleType>"
        f'<xs:element name="{root}"><xs:complexType>{body}</xs:complexType></xs:element></xs:schema>'))


def check_xml(answer: str, response) -> etree._Element:
    """The XML document, after checking the content type, the declaration and the schema."""
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8", response.headers["Content-Type"]
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), response.data[:60]
    document = etree.fromstring(response.data, etree.XMLParser(resolve_entities=False, no_network=True))
    schema = xml_schema(answer)
    assert schema.validate(document), schema.error_log
    return document
