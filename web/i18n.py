"""Chinese first, English available (Flask-Babel). Source strings in templates are zh-CN;
each feature keeps its English catalog in web/translations/<feature>/en/LC_MESSAGES/messages.po.
Catalogs are compiled when the app starts, so no generated .mo file is committed."""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, redirect, request, session, url_for
from flask_babel import Babel, get_locale
from markupsafe import Markup

from .urls import local_target

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("zh_Hans_CN", "en")

bp = Blueprint("i18n", __name__)


def data(value) -> Markup:
    """A data value (a name, an address, a text people wrote) marked as such on English pages:
    it is shown as written, and a check for untranslated text passes over it (a Chinese page
    has nothing to tell apart)."""
    if value is None or value == "":
        return Markup("")
    if str(get_locale()) != "en":
        return Markup("{}").format(value)
    return Markup('<span class="data">{}</span>').format(value)


def list_separator() -> str:
    """What separates words in a row in the reader's language: 甲、乙 / A, B."""
    return ", " if str(get_locale()) == "en" else "、"


def listing(values) -> str:
    return list_separator().join(str(v) for v in values)


def init_app(app):
    app.add_template_filter(data, "data")
    app.add_template_filter(listing, "listing")
    app.add_template_global(list_separator, "list_separator")
    directories = _compile_catalogs()
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_Hans_CN"
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Shanghai"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in directories)
    Babel(app, locale_selector=_locale)
    app.register_blueprint(bp)


def _locale():
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "zh_Hans_CN"


@bp.get("/lang/<code>")
def switch(code):
    if code in LANGUAGES:
        session["lang"] = code
    target = request.args.get("next", "")
    return redirect(local_target(target, url_for("home.index")))


def _compile_catalogs() -> list[Path]:
    directories = sorted(p for p in TRANSLATIONS.iterdir() if p.is_dir())
    for po in TRANSLATIONS.glob("*/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as src:
                catalog = read_po(src)
            with mo.open("wb") as out:
                write_mo(out, catalog)
    return directories
