"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that documents every API route."""
import re

from openapi_spec_validator import OpenAPIV31SpecValidator, validate

PREFIX = "/api/v1"
UNDOCUMENTED = {"/openapi.json", "/health"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _spec(client):
    resp = client.get(PREFIX + "/openapi.json")  # public: no token
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/json"
    return resp.get_json()


def _routes(app):
    """(method, OpenAPI path template, {param: converter}) of every route under /api/v1."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = rule.rule[len(PREFIX):]
        if path in UNDOCUMENTED:
            continue
        converters = {name: conv for conv, name in
                      re.findall(r"<(?:([^:<>()]+)(?:\([^)]*\))?:)?([^<>:]+)>", path)}
        template = re.sub(r"<(?:[^:<>]+:)?([^<>:]+)>", r"{\1}", path)
        for method in sorted(rule.methods - IGNORED_METHODS):
            found.append((method.lower(), template, converters))
    return found


def test_openapi_document_is_a_valid_openapi_3_1_document(client):
    spec = _spec(client)
    assert spec["openapi"].startswith("3.1.")
    validate(spec, cls=OpenAPIV31SpecValidator)  # raises OpenAPIValidationError with the reason
    assert spec["servers"] == [{"url": PREFIX}]


def test_every_api_route_is_documented_with_its_method_and_path_parameters(app, client):
    spec = _spec(client)
    routes = _routes(app)
    assert len(routes) >= 12, routes  # the rule scan itself must find the API
    missing = [(m, p) for m, p, _ in routes if m not in spec["paths"].get(p, {})]
    assert not missing, f"routes absent from openapi.json: {missing}"
    for method, template, converters in routes:
        operation = spec["paths"][template][method]
        declared = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}
        assert set(declared) == set(converters), (method, template, declared)
        for name, converter in converters.items():
            assert declared[name]["required"] is True
            expected = "integer" if converter == "int" else "string"
            assert declared[name]["schema"]["type"] == expected, (template, name)


def test_openapi_documents_no_route_that_does_not_exist(app, client):
    spec = _spec(client)
    real = {(m, p) for m, p, _ in _routes(app)}
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops
                  if m in {"get", "post", "put", "patch", "delete"}}
    assert documented - real == set()


def test_only_sign_in_is_documented_as_public(client):
    spec = _spec(client)
    assert spec["security"] == [{"bearer": []}]
    public = sorted(f"{m} {p}" for p, ops in spec["paths"].items() for m, op in ops.items()
                    if isinstance(op, dict) and op.get("security") == [])
    assert public == ["post /auth/token"]
