"""Flask application factory: the only place configuration is built."""
import os
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import HTTPException

from engine.db import Database


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-change-me"),
        DATABASE_URL=os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'hotline.db'}"),
        ATTACHMENT_DIR=os.environ.get("ATTACHMENT_DIR", str(instance / "attachments")),
        MAX_ATTACHMENT_MB=int(os.environ.get("MAX_ATTACHMENT_MB", "50")),
        NOTIFICATION_SENDER=os.environ.get("NOTIFICATION_SENDER", "log"),
        SMS_GATEWAY_URL=os.environ.get("SMS_GATEWAY_URL", ""),
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.update(test_config)
    app.config["MAX_CONTENT_LENGTH"] = (app.config["MAX_ATTACHMENT_MB"] + 1) << 20
    instance.mkdir(parents=True, exist_ok=True)
    app.json.ensure_ascii = False
    app.extensions["db"] = Database(app.config["DATABASE_URL"])

    from . import api, home
    app.register_blueprint(api.bp)
    app.register_blueprint(home.bp)
    app.register_error_handler(HTTPException, _json_errors_under_api)
    return app


def _json_errors_under_api(err: HTTPException):
    """Unknown routes and methods under /api/ answer in JSON like every other API error."""
    from flask import jsonify, request
    if request.path.startswith("/api/"):
        body = {"error": {"code": err.name.lower().replace(" ", "_"), "message": err.description}}
        return jsonify(body), err.code
    return err


def get_db(app=None) -> Database:
    from flask import current_app
    return (app or current_app).extensions["db"]
