"""Where a page may send the browser back to: only a path on this site."""


def local_target(target: str | None, default: str) -> str:
    """`target` if it is a path here ("/inbox"), else `default`. Refuses "//host", absolute URLs
    and control characters (a browser drops them, so "/\\t/evil.example" would be "//evil.example")."""
    target = target or ""
    local = target.startswith("/") and not target.startswith("//") and target.isprintable()
    return target if local else default
