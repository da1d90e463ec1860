"""Logging for the server and the CLI: one JSON object a line when not on a terminal, text on one.

Nothing logged here carries a code, PIN, secret, token or SQL parameter: the access line names
the route template (``/v1/vouchers/{voucher_id}``), never the path as sent, and engines are
created with ``hide_parameters``.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

# Attributes every LogRecord has; anything else was passed in ``extra`` and is logged as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


# The last second formatted by ``utc_stamp``: [epoch second, "YYYY-MM-DDTHH:MM:SS"].
_SECOND: list[Any] = [None, ""]


def utc_stamp(created: float) -> str:
    """``datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")``, with the
    date and time of day formatted once per second: it was the dearest line of an access line
    (docs/benchmarks.md, "Session 4")."""
    second = int(created)
    micro = round((created - second) * 1_000_000)  # as datetime rounds it (half to even)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    cached = _SECOND  # threads racing here at most format the same second twice
    if cached[0] != second:
        cached[1] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        cached[0] = second
    return f"{cached[1]}.{micro // 1000:03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()} {extra}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text.rstrip()


def configure(level: str = "info", *, json: bool | None = None) -> None:
    """Give the ``voucherd`` loggers one handler on stderr (once per process)."""
    root = logging.getLogger("voucherd")
    root.setLevel(level.upper())
    if any(getattr(h, "_voucherd", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    use_json = not sys.stderr.isatty() if json is None else json
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler._voucherd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
