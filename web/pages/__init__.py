"""The pages people work in, one blueprint per feature (templates in web/templates/<feature>/)."""
import importlib
import pkgutil


def register(app):
    """Register every module here that defines a blueprint `bp`."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
