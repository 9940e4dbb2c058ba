"""Free text staff type in (a note, a reason, a comment): cleaned and checked the same way
everywhere, so every form says the same thing about it."""
from runtime.errors import InvalidInput


def required(value, field: str, missing: str, limit: int) -> str:
    """`value` without NUL characters and outer spaces. Raises InvalidInput on `field` when
    nothing is left (`missing` says what to write) or it is longer than `limit` characters."""
    value = (value or "").replace("\x00", "").strip()
    if not value:
        raise InvalidInput("missing text", {field: [missing]})
    if len(value) > limit:
        raise InvalidInput("text too long", {field: [f"不能超过 {limit} 个字"]})
    return value
