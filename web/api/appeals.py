"""Appeals: register (intake), list, read, urge (a repeat call), withdraw, and upload attachments."""
from pathlib import Path

from flask import current_app, g, request, send_file

from hotline import appeals, attachments, casefile, urges, withdrawal
from hotline.access import require
from hotline.models import Attachment
from runtime import idempotency
from runtime.errors import InvalidInput, NotFound

from .. import get_db
from . import bp, check_storable, idempotency_key, json_object, replayable
from .auth import login_required
from .schemas import (
    APPEALS,
    AppealDetailSchema,
    AppealListQuery,
    AppealPageSchema,
    AppealSchema,
    AttachmentSchema,
)


@bp.post("/appeals")
@login_required
def register_appeal():
    require(g.user, "register_appeals")
    data = json_object()
    if data is None:
        raise InvalidInput("request body must be a JSON object", {"_schema": ["应为 JSON 对象"]})
    check_storable(data)

    def perform(remember):
        def after(session, appeal):
            answers.append(idempotency.Answer(201, AppealSchema(exclude=["units"]).dump(appeal)))
            remember(session, answers[0])
        answers = []
        appeals.register(get_db(), data, g.user, after)
        return answers[0]
    return replayable(idempotency.once(get_db(), f"api:appeals:{g.user.id}", idempotency_key(), data, perform))


@bp.get("/appeals")
@login_required
def list_appeals():
    """Newest first (web.api.paging); `before_id` still pages as it did."""
    query = AppealListQuery().load(request.args)
    before_id = query["cursor"][0] if "cursor" in query else query.get("before_id")
    with get_db().read() as session:
        found = appeals.list_visible(session, g.user, query.get("status"), before_id, query["limit"] + 1)
    items, next_cursor = APPEALS.page(found, query["limit"], lambda appeal: (appeal.id,))
    return AppealPageSchema().dump({"items": items, "next_cursor": next_cursor,
                                    "next_before_id": items[-1].id if next_cursor else None})


@bp.get("/appeals/<int:appeal_id>")
@login_required
def get_appeal(appeal_id):
    view = appeals.detail(get_db(), appeal_id, g.user)
    body = AppealDetailSchema().dump(view)
    body["appeal"]["units"] = [{"unit_id": u.unit_id, "role": u.role, "active": u.active} for u in view["units"]]
    return body


@bp.post("/appeals/<int:appeal_id>/urges")
@login_required
def urge_appeal(appeal_id):
    require(g.user, "urge")
    return urges.urge(get_db(), appeal_id, _one_text("note", "请填写来电催办的内容"), g.user), 201


@bp.post("/appeals/<int:appeal_id>/withdrawal")
@login_required
def withdraw_appeal(appeal_id):
    require(g.user, "withdraw")
    withdrawal.withdraw(get_db(), appeal_id, _one_text("reason", "请填写撤单原因"), g.user)
    return "", 204


def _one_text(name: str, missing: str) -> str:
    """The one text field of a JSON body {name: "..."}. Raises InvalidInput (per field)."""
    data = json_object()
    if data is None:
        raise InvalidInput("request body must be a JSON object", {"_schema": ["应为 JSON 对象"]})
    unknown = sorted(set(data) - {name})
    if unknown:
        raise InvalidInput("unknown fields", {k: ["不允许的字段"] for k in unknown})
    if not isinstance(data.get(name), str):
        raise InvalidInput(f"{name} must be text", {name: [missing]})
    return check_storable(data)[name]


@bp.post("/appeals/<int:appeal_id>/attachments")
@login_required
def upload_attachment(appeal_id):
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("no file", {"file": ["请选择要上传的文件（字段名 file）"]})
    attachment = casefile.attach_to_appeal(get_db(), appeal_id, g.user, attachments.Upload(
        Path(current_app.config["ATTACHMENT_DIR"]), (upload.filename or "").replace("\x00", ""), upload.stream,
        current_app.config["MAX_ATTACHMENT_MB"] << 20))
    return AttachmentSchema().dump(attachment), 201


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download_attachment(attachment_id):
    with get_db().read() as session:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound(f"attachment {attachment_id} does not exist")
        appeals.get_visible(session, attachment.appeal_id, g.user)
    path = attachments.path_for(Path(current_app.config["ATTACHMENT_DIR"]), attachment.sha256)
    if not path.is_file():
        raise NotFound("the file is missing from storage")
    return send_file(path, mimetype=attachment.content_type, download_name=attachment.filename)
