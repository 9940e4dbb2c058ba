"""Schemathesis against GET /api/v1/openapi.json, in process over WSGI: for every documented
operation a small, derandomized set of generated requests (valid and invalid), sent as the
administrator (who may use every operation). Fails on any 5xx and on any answer the document
does not describe (status code, content type, headers, body schema). The whole run stays
within a couple of minutes: few examples per operation, no shrinking beyond hypothesis' default.

Also the 405 answers: a method a path does not have is 405 with an `Allow` header."""
import io

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 10  # per operation and mode: 24 operations x 2 modes x 10 cases


OPERATIONS = ["POST /auth/token", "POST /appeals", "GET /appeals", "GET /appeals/{appeal_id}",
              "POST /appeals/{appeal_id}/urges", "POST /appeals/{appeal_id}/withdrawal",
              "POST /appeals/{appeal_id}/attachments", "GET /attachments/{attachment_id}", "GET /tasks",
              "GET /tasks/{task_id}", "POST /tasks/{task_id}/claim", "POST /tasks/{task_id}/unclaim",
              "POST /tasks/{task_id}/complete", "GET /units", "GET /forms/{name}", "GET /incidents",
              "POST /incidents/{job_id}/retry", "GET /calendar/alerts", "POST /calendar/days",
              "POST /calendar/years", "GET /supervision-items", "GET /supervision-items/{item_id}",
              "POST /supervision-items/{item_id}/respond", "POST /supervision-items/{item_id}/close",
              "GET /evaluation"]


@pytest.fixture
def operations(app):
    """The document's operations by "METHOD /path" (schemathesis' pytest plugin does not run
    under pytest 9, so the cases are drawn with hypothesis directly)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


def test_the_list_of_operations_is_the_document(operations):
    assert sorted(operations) == sorted(OPERATIONS)


@pytest.fixture
def real_ids(walk, api, db):
    """Path parameters that name real rows, so answers with bodies are checked too."""
    from hotline.models import SupervisionItem
    appeal = walk.register()
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
    attachment = api.as_("intake1").post(f"/appeals/{appeal['id']}/attachments",
                                         data={"file": (io.BytesIO(png), "p.png")}, content_type="multipart/form-data")
    assert attachment.status_code == 201, attachment.get_json()
    task = walk.task(appeal["id"], "intake1", "ut_assess")
    with db.read() as session:
        item = session.scalar(select(SupervisionItem.id).limit(1))
    return {"appeal_id": appeal["id"], "attachment_id": attachment.get_json()["id"], "task_id": task["id"],
            "name": "register_appeal.schema.json", "item_id": item or 1, "job_id": 1}


@pytest.mark.parametrize("mode", ["positive", "negative", "positive, real ids"])
@pytest.mark.parametrize("name", OPERATIONS)
def test_every_documented_operation_answers_as_documented(operations, api, name, mode, request):
    operation = operations[name]
    headers = {} if name == "POST /auth/token" else {"Authorization": f"Bearer {api.token('admin')}"}
    ids = None
    if mode == "positive, real ids":
        if "{" not in name:
            pytest.skip("no path parameters")
        real = request.getfixturevalue("real_ids")
        ids = {k: v for k, v in real.items() if "{" + k + "}" in name}
    generation = GenerationMode.NEGATIVE if mode == "negative" else GenerationMode.POSITIVE

    @given(case=operation.as_strategy(generation_mode=generation, path_parameters=ids))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)
    run()


def test_a_method_the_path_does_not_have_is_405_with_allow(app, client):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.arguments:
            continue
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - rule.methods:
            if any(r.rule == rule.rule and method in r.methods for r in app.url_map.iter_rules()):
                continue  # another rule of the same path has it (GET and POST /appeals are two views)
            resp = client.open(rule.rule, method=method)
            assert resp.status_code == 405, (method, rule.rule, resp.status_code)
            allowed = {m.strip() for m in resp.headers.get("Allow", "").split(",")}
            assert allowed >= (rule.methods - {"HEAD", "OPTIONS"}), (method, rule.rule, resp.headers)
            assert resp.is_json and resp.get_json()["error"]["code"] == "method_not_allowed"
