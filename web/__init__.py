"""Flask application factory: the only place configuration is built."""
import os
from pathlib import Path

from flask import Flask
from werkzeug import exceptions as http
from werkzeug.exceptions import HTTPException

import hotline
from hotline import phones
from runtime.db import Database
from runtime.errors import Forbidden, NotFound


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-change-me"),
        DATABASE_URL=os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'hotline.db'}"),
        ATTACHMENT_DIR=os.environ.get("ATTACHMENT_DIR", str(instance / "attachments")),
        MAX_ATTACHMENT_MB=int(os.environ.get("MAX_ATTACHMENT_MB", "50")),
        MAX_BODY_KB=int(os.environ.get("MAX_BODY_KB", "1024")),  # any other request body (web/guard.py)
        NOTIFICATION_SENDER=os.environ.get("NOTIFICATION_SENDER", "log"),
        SMS_GATEWAY_URL=os.environ.get("SMS_GATEWAY_URL", ""),
        WORKER_THREADS=int(os.environ.get("WORKER_THREADS", "2")),
        # PIPL Art. 19, 47: days after an appeal closes until its appellant is anonymised (hotline.privacy)
        RETENTION_DAYS=int(os.environ.get("RETENTION_DAYS", "730")),
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",  # 1 behind HTTPS
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.update(test_config)
    # the modeler writes diagrams and forms back into the working tree (to be committed): on for
    # `make run`, off under tests unless a test turns it on with temporary folders
    app.config.setdefault("ALLOW_WRITE_PROCESSES", os.environ.get("ALLOW_WRITE_PROCESSES", "1") == "1"
                          and not app.config.get("TESTING"))
    app.config.setdefault("WRITE_PROCESSES_DIR", str(Path(app.root_path).parent / "processes"))
    app.config.setdefault("WRITE_FORMS_DIR", str(Path(app.root_path).parent / "forms"))
    app.config["MAX_CONTENT_LENGTH"] = (app.config["MAX_ATTACHMENT_MB"] + 1) << 20
    instance.mkdir(parents=True, exist_ok=True)
    app.json.ensure_ascii = False
    app.extensions["db"] = Database(app.config["DATABASE_URL"])
    hotline.configure()  # the runtime learns the hotline's operators, rules and hooks

    from . import api, auth, element_names, guard, home, i18n, nav, pages, people, security, statuses
    guard.init_app(app)  # first: its checks run before sign-in, CSRF and any view
    i18n.init_app(app)
    statuses.init_app(app)
    element_names.init_app(app)
    people.init_app(app)
    app.add_template_filter(phones.display, "phone")  # as people read it: 138 0000 1234, 0591-8765 4321
    security.init_app(app)
    security.csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    nav.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    from . import open311  # GeoReport v2 for other systems: api_key in the request, no cookies
    security.csrf.exempt(open311.bp)
    app.register_blueprint(open311.bp)
    pages.register(app)
    app.register_error_handler(HTTPException, _json_errors_under_api)
    # an engine NotFound/Forbidden raised under a page is that page's 404/403 (the API
    # blueprint maps them to JSON itself)
    app.register_error_handler(NotFound, lambda _err: _json_errors_under_api(http.NotFound()))
    app.register_error_handler(Forbidden, lambda _err: _json_errors_under_api(http.Forbidden()))
    return app


def _json_errors_under_api(err: HTTPException):
    """Unknown routes and methods under /api/ answer in JSON like every other API error;
    pages get a readable error page."""
    from flask import jsonify, render_template, request
    allow = [(name, value) for name, value in err.get_headers() if name == "Allow"]  # a 405 says what is
    if request.path.startswith("/open311/"):  # the specification's error array (web/open311)
        from .open311 import http_error
        return http_error(err)
    if request.path.startswith("/api/"):
        body = {"error": {"code": err.name.lower().replace(" ", "_"), "message": err.description}}
        return jsonify(body), err.code, allow
    return render_template("error.html", error=err), err.code, allow


def get_db(app=None) -> Database:
    from flask import current_app
    return (app or current_app).extensions["db"]
