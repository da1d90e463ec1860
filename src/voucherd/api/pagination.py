"""Opaque cursors over ascending ids."""

from __future__ import annotations

import base64

from voucherd.domain.errors import ValidationFailed
from voucherd.domain.inputs import INT64_MAX, parse_ascii_int


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "id":
            raise ValueError(kind)
        last_id = parse_ascii_int(value)
        if last_id > INT64_MAX:
            raise ValueError(value)
        return last_id
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("cursor is not valid", field="cursor", rule="cursor") from None


def next_cursor(ids: list[int], limit: int) -> str | None:
    return encode(ids[-1]) if len(ids) == limit else None
