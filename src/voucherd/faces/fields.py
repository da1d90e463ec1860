"""Pydantic field types for input limits (``domain/inputs.py``), for any face that uses pydantic.

- ids in a path: :func:`text_id` (``Annotated[int, text_id("charge")]``): ASCII digits only
  (anything else is a validation error), and an id outside 1..2^63-1 is ``NotFound`` (404),
  like any id that names nothing;
- ids in a JSON body: ``Annotated[StrictInt, json_id("customer")]``;
- integers in a query string or header: ``Annotated[int, ASCII_INT, Field(ge=..., le=...)]``;
- JSON values clients send (metadata): ``Annotated[dict[str, Any], JSON_LIMITS]``.

A validator that raises a domain error (``NotFound``) is not collected by pydantic: it leaves
validation as that error, so the face's error table answers it. ``ValueError`` and
``PydanticCustomError`` become the face's usual list of invalid fields.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from voucherd.domain import inputs
from voucherd.domain.errors import ValidationFailed


def _ascii_int(value: Any) -> Any:
    if isinstance(value, str):
        return inputs.parse_ascii_int(value, allow_negative=True)
    return value


ASCII_INT: Final = BeforeValidator(_ascii_int)
"""Integers sent as text: only ``-?[0-9]+`` (pydantic alone takes ``1_0``, ``+1``, ``" 1"``)."""


def text_id(kind: str) -> BeforeValidator:
    """An id sent as text: ASCII digits, and in 64-bit id range or ``NotFound(kind)``."""

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            value = inputs.parse_ascii_int(value, allow_negative=True)
        if isinstance(value, int) and not isinstance(value, bool):
            return inputs.check_id(value, kind)
        return value

    return BeforeValidator(parse)


def json_id(kind: str) -> AfterValidator:
    """After ``StrictInt``: an id outside 1..2^63-1 is ``NotFound(kind)``."""
    return AfterValidator(lambda value: inputs.check_id(value, kind))


def _json_limits(value: Any) -> Any:
    try:
        return inputs.check_json(value)
    except ValidationFailed as exc:
        raise PydanticCustomError(f"json_{exc.rule}", exc.message) from None


JSON_LIMITS: Final = AfterValidator(_json_limits)
"""The one depth/size/content limit for JSON values (``inputs.check_json``), as a field error."""
