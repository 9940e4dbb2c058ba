"""The two formats of GeoReport v2, made from one value: JSON as the specification's examples
show it (a flat array of objects, or one object for discovery and a service definition) and
XML by the same structure (the Spark convention: an array becomes an element holding one
element per item, named as the specification names them), UTF-8, with the XML declaration.
Written with lxml, so every text is escaped."""
import json
import re

from flask import Response
from lxml import etree

MIMETYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "values": "value", "endpoints": "endpoint", "formats": "format"}
# what XML 1.0 cannot carry (lxml refuses it): C0 controls but tab and newlines, lone surrogates
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def respond(fmt: str, root: str, value, status: int = 200, headers=None) -> Response:
    """`value` (a list, or a dict for discovery and service_definition) under `root`."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False, indent=2).encode()
    else:
        body = DECLARATION + etree.tostring(_element(root, value), encoding="UTF-8", xml_declaration=False,
                                            pretty_print=True)
    return Response(body, status=status, mimetype=None, content_type=MIMETYPES[fmt], headers=headers)


def _element(name: str, value) -> etree._Element:
    element = etree.Element(name)
    if isinstance(value, list):
        element.extend(_element(ITEMS[name], item) for item in value)
    elif isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))
    return element
