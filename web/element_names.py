"""Task and timer names for pages, in the request's language: the diagrams' English names
(hotline.element_names), read once per request. `element_name` is a template global and filter."""
from flask import g

from hotline import element_names

from . import get_db
from .form_render import english


def catalogue() -> dict[str, str]:
    if "element_names" not in g:
        with get_db().read() as session:
            g.element_names = element_names.catalogue(session)
    return g.element_names


def english_name(name: str | None) -> str | None:
    """The English name a deployed diagram gives the element called `name`, if any."""
    return catalogue().get(name) if name else None


def element_name(name: str | None) -> str:
    """A task's or timer's name as the reader reads it: in English, the diagram's English name."""
    if not name:
        return ""
    return (english_name(name) or name) if english() else name


def init_app(app):
    app.add_template_global(element_name, "element_name")
    app.add_template_filter(element_name, "element_name")
