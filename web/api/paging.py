"""Keyset paging for every list of the API.

A list answers {"items": [...], "next_cursor": "..." | null}. `limit` (default 50, at most 200)
bounds a page; `cursor` is the `next_cursor` of the page before: the sort key of that page's
last row (URL-safe base64 of JSON, with the list's name so one list's cursor is refused by
another). The next page is the rows after that key in the list's total order (each key ends
with the row's id), so rows added or removed between reads neither repeat nor push others
off a page, and no query counts or skips rows (no OFFSET). A cursor that does not decode is a
400 naming `cursor`, like a `limit` outside 1..200.
"""
import base64
import binascii
import json
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .. import guard

DEFAULT_LIMIT, MAX_LIMIT = 50, 200
MAX_CURSOR = 400  # characters: the longest key (a time and a task id) encodes to about 110
BAD_CURSOR = "翻页游标无效：请使用上一页返回的 next_cursor，或去掉 cursor 从第一页开始"


def row_id(value):
    """An INTEGER id."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= guard.MAX_ID:
        raise ValueError("not an id")
    return value


def text_id(value):
    """A text id (a task's): at most 36 characters, none NUL."""
    if not isinstance(value, str) or not 1 <= len(value) <= 36 or "\x00" in value:
        raise ValueError("not a text id")
    return value


def time(value):
    """A time with its offset, within the years the database keeps."""
    if not isinstance(value, str):
        raise TypeError("not a time")
    found = datetime.fromisoformat(value)
    if found.tzinfo is None or not guard.YEARS[0] <= found.year <= guard.YEARS[1]:
        raise ValueError("not a stored time")
    return found


def optional_time(value):
    return None if value is None else time(value)


class Keyset:
    """One list's sort key: its name and one check per value (each turns the JSON value back
    into what the query compares, or raises ValueError or TypeError)."""

    def __init__(self, name: str, *checks):
        self.name, self.checks = name, checks

    def encode(self, key: tuple) -> str:
        values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
        raw = json.dumps([self.name, *values], separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple:
        """Raises ValidationError {"cursor": [...]} for anything `encode` did not make."""
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
            name, *values = json.loads(raw.decode())
            if name != self.name or len(values) != len(self.checks):
                raise ValueError("another list's cursor")
            return tuple(check(value) for check, value in zip(self.checks, values, strict=True))
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, RecursionError) as err:
            raise ValidationError(BAD_CURSOR) from err

    def page(self, rows: list, limit: int, key) -> tuple[list, str | None]:
        """The first `limit` of `rows` (fetched as limit + 1 to know whether more follow) and
        the cursor after the last of them, or None on the last page."""
        if len(rows) > limit:
            return rows[:limit], self.encode(key(rows[limit - 1]))
        return rows, None


class Cursor(fields.String):
    """The `cursor` query parameter of one list: loads as its sort key (a tuple)."""

    def __init__(self, keyset: Keyset, **kwargs):
        super().__init__(metadata={"description": "the next_cursor of the previous page"}, **kwargs)
        self.keyset = keyset

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not 1 <= len(text) <= MAX_CURSOR:
            raise ValidationError(BAD_CURSOR)
        return self.keyset.decode(text)


class PageQuery(Schema):
    """`limit` for a list's query schema; the list adds `cursor = Cursor(its keyset)`."""
    class Meta:
        unknown = EXCLUDE
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(
        1, MAX_LIMIT, error=f"每页条数须在 1–{MAX_LIMIT} 之间"), metadata={"description": "rows per page"})


def parameters() -> list[dict]:
    """The OpenAPI query parameters of a paged list."""
    return [{"in": "query", "name": "limit", "description": "rows per page",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
            {"in": "query", "name": "cursor", "description": "the next_cursor of the previous page (opaque); "
             "omit it for the first page. A cursor this list did not make is a 400",
             "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR}}]


def next_cursor_field() -> fields.String:
    return fields.String(allow_none=True, metadata={
        "description": "pass as `cursor` for the next page; null on the last page"})
