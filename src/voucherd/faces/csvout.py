"""CSV out, shared by the faces (API and CLI): a header line, then one line per row.

Values are written as they are (integers in minor units, times in ISO 8601 UTC, None as an
empty field). A text field starting with ``=``, ``+``, ``-`` or ``@`` is prefixed with ``'`` so
a spreadsheet never runs it as a formula (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

MEDIA_TYPE = "text/csv; charset=utf-8"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text, a line at a time (so it can be streamed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell(v) for v in row])
        yield buffer.getvalue()


def text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "".join(lines(header, rows))


def wants_csv(accept: str | None, format_: str | None) -> bool:
    """``?format=csv`` wins; else an Accept header naming text/csv before JSON."""
    if format_ is not None:
        return format_.lower() == "csv"
    return "text/csv" in (accept or "").lower()
