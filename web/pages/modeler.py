"""Process modeling in the browser for analysts: the diagram and decision table files with their
drafts, a bpmn-js / dmn-js editor per file (save a draft, compare with the deployed version,
validate, deploy, download, write back to processes/), and a task form editor with a live
preview. Writing into the working tree needs the ALLOW_WRITE_PROCESSES setting (README)."""
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _

from runtime import drafts, registry
from runtime import form_drafts as form_files
from runtime.errors import Conflict, InvalidInput, NotFound
from runtime.validation import BundleInvalid

from .. import form_render, get_db
from ..auth import current_user, page_login_required

bp = Blueprint("modeler", __name__, url_prefix="/modeler")

DMN_JS = Path(__file__).resolve().parent.parent / "node_modules" / "dmn-js" / "dist"


def _may_write() -> bool:
    return bool(current_app.config.get("ALLOW_WRITE_PROCESSES"))


def _entry(name: str) -> drafts.FileEntry:
    with get_db().read() as session:
        found = [f for f in drafts.list_files(session) if f.name == name]
    if not found:
        abort(404)
    return found[0]


def _problems(problems) -> list[dict]:
    return [{"file": p.file, "element_id": p.element_id, "element_name": p.element_name, "rule": p.rule,
             "message": p.message_en if form_render.english() else p.message} for p in problems]


def _messages(err: InvalidInput) -> list[str]:
    return [m for messages in err.fields.values() for m in messages] or [str(err)]


@bp.get("")
@page_login_required("model")
def index():
    with get_db().read() as session:
        files, forms_found = drafts.list_files(session), form_files.names(session)
    return render_template("modeler/index.html", files=files, forms=forms_found,
                           drafted_forms=[name for name, drafted in forms_found.items() if drafted])


@bp.get("/<name>")
@page_login_required("model")
def edit(name):
    entry = _entry(name)
    return render_template("modeler/edit.html", entry=entry, kind="dmn" if name.endswith(".dmn") else "bpmn",
                           may_write=_may_write(), operators=registry.current().catalogue())


@bp.get("/<name>/content")
@page_login_required("model")
def content(name):
    with get_db().read() as session:
        text, source = drafts.open_file(session, name)  # NotFound: 404
    return Response(text, mimetype="application/xml",
                    headers={"X-Content-Source": source, "X-Content-Fingerprint": drafts.fingerprint(text)})


@bp.post("/<name>/draft")
@page_login_required("model")
def save_draft(name):
    _entry(name)
    body = request.get_json(silent=True) or {}
    xml = body.get("xml") if isinstance(body.get("xml"), str) else request.form.get("xml", "")
    based_on = body.get("based_on") if isinstance(body.get("based_on"), str) else None
    try:
        drafts.save_draft(get_db(), name, xml, current_user(), based_on)
    except InvalidInput as err:
        return jsonify(errors=_messages(err)), 400
    except Conflict:
        return jsonify(errors=[_("该文件在你打开后已被他人修改（保存了草稿或部署了新版本），请重新打开后再修改，以免覆盖对方的修改")]), 409
    return jsonify(saved=True, message=_("草稿已保存"), fingerprint=drafts.fingerprint(xml))


@bp.post("/<name>/discard")
@page_login_required("model")
def discard(name):
    try:
        drafts.discard(get_db(), name, current_user())
    except NotFound:
        abort(404)
    flash(_("草稿已放弃"), "success")
    return redirect(url_for("modeler.edit", name=name))


@bp.get("/<name>/diff")
@page_login_required("model")
def diff(name):
    with get_db().read() as session:
        try:
            return drafts.compare(session, name)  # NotFound: 404
        except InvalidInput as err:
            return jsonify(errors=_messages(err)), 400


@bp.get("/<name>/download")
@page_login_required("model")
def download(name):
    with get_db().read() as session:
        text, _source = drafts.open_file(session, name)
    return Response(text, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/<name>/write")
@page_login_required("model")
def write_back(name):
    if not _may_write():
        return jsonify(errors=[_("本环境不允许写回 processes/ 目录，请下载文件后提交")]), 409
    with get_db().read() as session:
        path = drafts.write_back(session, name, Path(current_app.config["WRITE_PROCESSES_DIR"]))
    return jsonify(message=_("已写回 %(path)s，请提交代码评审", path=path.name))


@bp.get("/bundle/validate")
@page_login_required("model")
def validate():
    with get_db().read() as session:
        return jsonify(problems=_problems(drafts.validate(session)))


@bp.post("/bundle/deploy")
@page_login_required("model")
def deploy():
    body = request.get_json(silent=True) or {}
    if body.get("confirm") is not True and request.form.get("confirm") != "1":
        return jsonify(errors=[_("请确认部署")]), 400
    try:
        deployment, created = drafts.deploy(get_db(), current_user())
    except BundleInvalid as err:
        return jsonify(problems=_problems(err.problems)), 422
    message = _("已部署为第 %(v)s 版", v=deployment.version) if created else \
        _("内容与第 %(v)s 版相同，未产生新版本", v=deployment.version)
    return jsonify(version=deployment.version, created=created, message=message)


@bp.get("/vendor/dmn-js/<path:filename>")
def dmn_js(filename):
    """dmn-js from web/node_modules (npm, installed by `make install`), never from a CDN."""
    if not DMN_JS.is_dir():
        abort(404, description="dmn-js is not installed: run `make install` (npm install --prefix web)")
    return send_from_directory(DMN_JS, filename, max_age=86400)


# -- task forms --------------------------------------------------------------------------------

def _forms_page(status=200, **extra):
    with get_db().read() as session:
        found = form_files.names(session)
    return render_template("modeler/forms.html", forms=found, **extra), status


@bp.get("/forms")
@page_login_required("model")
def forms():
    return _forms_page()


@bp.post("/forms/new")
@page_login_required("model")
def new_form():
    """Start a draft form for a new user task; the editor opens on it."""
    stem, title = request.form.get("stem", ""), request.form.get("title", "")
    try:
        name = form_files.create(get_db(), stem, title, current_user())
    except InvalidInput as err:
        return _forms_page(400, errors=err.fields, stem=stem, title=title)
    flash(_("已新建表单草稿 %(name)s：在流程图中把它设为人工任务的表单文件，随流程一起部署", name=name), "success")
    return redirect(url_for("modeler.form", name=name))


def _form_page(name, schema, ui, source, status=200, errors=None, based_on=None):
    based_on = based_on or (drafts.fingerprint(schema), drafts.fingerprint(ui))
    return render_template("modeler/form.html", name=name, ui_name=form_files.ui_name(name), schema=schema, ui=ui,
                           source=source, errors=errors, may_write=_may_write(), based_on=based_on), status


@bp.get("/forms/<name>")
@page_login_required("model")
def form(name):
    with get_db().read() as session:
        schema, ui, source = form_files.read(session, name)  # NotFound: 404
    return _form_page(name, schema, ui, source)


@bp.post("/forms/preview")
@page_login_required("model")
def form_preview():
    body = request.get_json(silent=True) or {}
    try:
        schema, ui = form_files.check(str(body.get("schema", "")), str(body.get("ui", "")))
    except InvalidInput as err:
        return jsonify(errors=err.fields), 400
    fields, _messages = form_render.build(schema, ui)
    return jsonify(html=render_template("modeler/_preview.html", fields=fields,
                                        title=form_render.title(schema, ui)))


@bp.post("/forms/<name>")
@page_login_required("model")
def save_form(name):
    schema, ui = request.form.get("schema", ""), request.form.get("ui", "")
    based_on = (request.form.get("based_on_schema", ""), request.form.get("based_on_ui", ""))
    try:
        form_files.save(get_db(), name, schema, ui, current_user(), based_on if all(based_on) else None)  # 404
    except InvalidInput as err:
        flash(_("表单有错误，未保存"), "error")
        return _form_page(name, schema, ui, "draft", 400, err.fields, based_on)
    except Conflict:
        flash(_("该文件在你打开后已被他人修改（保存了草稿或部署了新版本），请重新打开后再修改，以免覆盖对方的修改"), "error")
        return _form_page(name, schema, ui, "draft", 409, based_on=based_on)
    flash(_("表单草稿已保存：部署后新启动的诉求使用新表单，运行中的诉求仍用原版本的表单"), "success")
    return redirect(url_for("modeler.form", name=name))


@bp.post("/forms/<name>/discard")
@page_login_required("model")
def discard_form(name):
    try:
        form_files.discard(get_db(), name, current_user())
    except NotFound:
        abort(404)
    flash(_("草稿已放弃"), "success")
    with get_db().read() as session:
        exists = name in form_files.names(session)
    return redirect(url_for("modeler.form", name=name) if exists else url_for("modeler.forms"))


@bp.post("/forms/<name>/write")
@page_login_required("model")
def write_form(name):
    with get_db().read() as session:
        schema, ui, source = form_files.read(session, name)  # NotFound: 404
        if not _may_write():
            flash(_("本环境不允许写回 forms/ 目录，请下载文件后提交"), "error")
            return _form_page(name, schema, ui, source, 409)
        form_files.write_back(session, name, Path(current_app.config["WRITE_FORMS_DIR"]))
    flash(_("表单已写回 forms/，请提交代码评审"), "success")
    return redirect(url_for("modeler.form", name=name))
