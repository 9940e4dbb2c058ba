"""Appeal statuses for pages and the API, in the request's language: the statuses the deployed
diagrams declare (hotline.statuses), read once per request. `status_label` is a template
global."""
from flask import g
from flask_babel import get_locale

from hotline import statuses

from . import get_db


def catalogue() -> dict[str, statuses.Status]:
    if "statuses" not in g:
        with get_db().read() as session:
            g.statuses = statuses.catalogue(session)
    return g.statuses


def label(name: str | None) -> str:
    found = catalogue().get(name or "")
    if found is None:
        return name or ""
    return found.label_en if str(get_locale() or "").startswith("en") else found.label


def labels() -> dict[str, str]:
    """{status: label} of every deployed status, in the diagrams' order."""
    return {name: label(name) for name in catalogue()}


def init_app(app):
    app.add_template_global(label, "status_label")
