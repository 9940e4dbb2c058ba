"""Free text staff type in (a note, a reason, a comment): cleaned and checked the same way
everywhere, so every form says the same thing about it."""
import re

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


# C0 and C1 controls (a title or a name is one line: not even \n or \t), and the bidi embeddings,
# overrides and isolates that make text display in another order than it is stored
UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"  # the same, as a JSON Schema pattern
UNSAFE_MESSAGE = "不能包含控制字符或文字方向控制字符"


def line_problems(value) -> list[str]:
    """For a title or a name: a message if it holds control or bidi-override characters."""
    return [UNSAFE_MESSAGE] if isinstance(value, str) and UNSAFE_IN_LINE.search(value) else []
