"""Column types that hold the engine's rules on both SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from voucherd.domain import inputs

log = logging.getLogger("voucherd.db")

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer, "sqlite")

UNREADABLE: Final = "voucherd_unreadable"
"""The key of what a read gives instead of a stored JSON value beyond the limits."""
# Reads allow a little more than writes, so a read never refuses what a write of an older
# version accepted within the limits; what is beyond is what renderers fail on (orjson stops
# at 255 levels, pydantic's serializer near there; Python's json parser near 1,000).
READ_MAX_DEPTH: Final = 2 * inputs.JSON_MAX_DEPTH


class JsonValue(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) that only ever holds values within the input limits.

    Writes go through :func:`voucherd.domain.inputs.check_json`: a value too deep or too
    large, or holding NUL, a lone surrogate, an integer beyond 64 bits or a non-finite number,
    is refused as ``ValidationFailed`` (``db/engine.py`` lets it out unwrapped), so every face
    answers it with its own 4xx even if its own check missed it. Reads are made safe by
    :func:`load_json` (set as the engines' JSON deserializer).
    """

    impl = JSON
    cache_ok = True

    def __init__(
        self,
        max_depth: int = inputs.JSON_MAX_DEPTH,
        max_bytes: int = inputs.JSON_MAX_BYTES,
    ) -> None:
        super().__init__()
        self.max_depth = max_depth
        self.max_bytes = max_bytes

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None:
            inputs.check_json(value, max_depth=self.max_depth, max_bytes=self.max_bytes)
        return value


Json = JsonValue()
"""One accepted value per column: metadata, settings."""
AuditJson = JsonValue(inputs.JSON_MAX_DEPTH + 1, 2 * inputs.JSON_MAX_BYTES)
"""An event's ``before``/``after``: the changed fields by name, so one level more than the
values they hold, and room for the other changed fields beside a full-size metadata."""


def load_json(text: str | bytes) -> Any:
    """The engines' JSON deserializer: never fails a read on what is already stored.

    A value stored before the limits existed may be nested deeper than any renderer can
    write out (one such voucher made a whole tenant's native list answer 500). It reads as
    ``{"voucherd_unreadable": "..."}`` instead, and is logged (without its content); writing a
    new value replaces it. Values within the limits read unchanged.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        problem: tuple[str, str] | None = ("depth", "nested too deep to parse")
    else:
        # Text with a lone surrogate, integers beyond 64 bits, NaN: what older versions
        # stored and a renderer (orjson) refuses to write out.
        problem = inputs.json_problem(value, max_depth=READ_MAX_DEPTH)
    if problem is None:
        return value
    log.warning("a stored JSON value exceeds the input limits (%s); read as unreadable", problem[0])
    return {UNREADABLE: f"the stored value was refused on read: {problem[1]}"}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite (which has no time zones) stores naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass a timezone-aware UTC value")
        aware: datetime = value.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
