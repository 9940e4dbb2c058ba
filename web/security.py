"""CSRF on every page form, security headers on every response, careful session cookies."""
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # scripts and styles only from this server (bpmn-js is served locally, never from a CDN)
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
}


def init_app(app):
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=8 * 3600)  # one working day
    csrf.init_app(app)

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
