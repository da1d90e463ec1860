"""The input-limit primitives every face uses (``domain/inputs.py``), and the read guard."""

from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voucherd.db.types import UNREADABLE, load_json
from voucherd.domain import inputs
from voucherd.domain.errors import NotFound, ValidationFailed

ASCII_INT = re.compile(r"-?[0-9]+")  # the whole text: fullmatch, as ^-?[0-9]+$ without \n


def nested(depth: int, leaf: object = 1) -> object:
    """An object ``depth`` levels deep: ``{"a": {"a": ... leaf}}``."""
    value: object = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


# --- integers in text -------------------------------------------------------------------------


@given(st.text(max_size=30))
def test_parse_agrees_with_the_ascii_regex_and_int(text: str) -> None:
    matches = ASCII_INT.fullmatch(text) is not None
    try:
        value = inputs.parse_ascii_int(text, allow_negative=True)
    except ValueError:
        assert not matches
    else:
        assert matches and value == int(text)


@given(st.text(alphabet=string.digits + "-", max_size=25))
def test_parse_of_ascii_digits_and_minus_is_int_exactly_when_well_formed(text: str) -> None:
    if ASCII_INT.fullmatch(text):
        assert inputs.parse_ascii_int(text, allow_negative=True) == int(text)
    else:
        with pytest.raises(ValueError):
            inputs.parse_ascii_int(text, allow_negative=True)


@given(st.integers())
def test_every_int_round_trips(value: int) -> None:
    assert inputs.parse_ascii_int(str(value), allow_negative=True) == value
    if value < 0:
        with pytest.raises(ValueError):
            inputs.parse_ascii_int(str(value))


@pytest.mark.parametrize(
    "text",
    [
        "²",
        "\uff11\uff10",
        "٣",
        "1_0",
        " 10",
        "10 ",
        "10\n",
        "+10",
        "1e3",
        "10.0",
        "0x10",
        "",
        "-",
        "--1",
    ],
)
def test_what_int_or_isdigit_would_take_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        inputs.parse_ascii_int(text, allow_negative=True)


def test_a_spelling_too_long_for_64_bits_is_out_of_range_not_a_crash() -> None:
    huge = "9" * 5000  # int() itself refuses more than 4,300 digits
    assert inputs.parse_ascii_int(huge) > inputs.INT64_MAX
    assert inputs.parse_ascii_int("-" + huge, allow_negative=True) < inputs.INT64_MIN
    assert inputs.parse_ascii_int("0" * 100 + "7") == 7


# --- ranges -----------------------------------------------------------------------------------


def test_ids_outside_64_bits_are_not_found() -> None:
    assert inputs.check_id(inputs.INT64_MAX, "charge") == inputs.INT64_MAX
    assert inputs.id_from_text("42", "charge") == 42
    for text in ["9223372036854775808", "0", "-1", "²", "1_0", "1180591620717411303424"]:
        with pytest.raises(NotFound) as caught:
            inputs.id_from_text(text, "charge")
        assert caught.value.kind == "charge"
    with pytest.raises(NotFound):
        inputs.check_id(True, "charge")  # a bool is not an id


def test_values_outside_range_are_validation_errors() -> None:
    assert inputs.check_int(inputs.INT64_MIN, "n") == inputs.INT64_MIN
    with pytest.raises(ValidationFailed) as caught:
        inputs.check_int(inputs.INT64_MAX + 1, "n")
    assert (caught.value.field, caught.value.rule) == ("n", "range")
    assert inputs.int_from_text("-5", "offset") == -5
    with pytest.raises(ValidationFailed) as caught:
        inputs.int_from_text("-5", "limit", low=1, high=500)
    assert caught.value.rule == "integer"  # '-' is not allowed where nothing may be negative
    with pytest.raises(ValidationFailed) as caught:
        inputs.int_from_text("501", "limit", low=1, high=500)
    assert caught.value.rule == "range"
    with pytest.raises(ValidationFailed):
        inputs.int_from_text("\uff11\uff10", "amount")


@pytest.mark.parametrize("value", [True, False, 1.0, "100", None, [1]])
def test_strict_int_refuses_everything_but_a_json_integer(value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        inputs.strict_int(value, "amount")
    assert (caught.value.field, caught.value.rule) == ("amount", "integer")


def test_strict_int_takes_integers_in_range() -> None:
    assert inputs.strict_int(100, "amount", low=1) == 100
    with pytest.raises(ValidationFailed):
        inputs.strict_int(0, "amount", low=1)


# --- JSON values ------------------------------------------------------------------------------


def test_depth_limit_is_exact() -> None:
    assert inputs.check_json(nested(inputs.JSON_MAX_DEPTH)) is not None
    assert inputs.check_json([[]]) == [[]]
    with pytest.raises(ValidationFailed) as caught:
        inputs.check_json(nested(inputs.JSON_MAX_DEPTH + 1), "metadata")
    assert (caught.value.field, caught.value.rule) == ("metadata", "depth")


def test_a_value_nested_100000_deep_is_refused_without_recursion() -> None:
    deep: object = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValidationFailed) as caught:
        inputs.check_json(deep)
    assert caught.value.rule == "depth"


def test_size_limit_counts_compact_utf8_bytes() -> None:
    # {"a":"..."} is 8 bytes around the text; each "é" is 2 bytes
    fits = {"a": "é" * ((inputs.JSON_MAX_BYTES - 8) // 2)}
    assert inputs.json_size(fits) <= inputs.JSON_MAX_BYTES
    inputs.check_json(fits)
    with pytest.raises(ValidationFailed) as caught:
        inputs.check_json({"a": "é" * (inputs.JSON_MAX_BYTES // 2)})
    assert caught.value.rule == "size"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ({"a\x00": 1}, "text"),
        ({"a": "b\x00"}, "text"),
        ({"a": ["\ud800"]}, "text"),
        ({"\udfff": 1}, "text"),
        ({"a": 2**63}, "range"),
        ({"a": -(2**63) - 1}, "range"),
        ({"a": float("nan")}, "number"),
        ({"a": float("inf")}, "number"),
    ],
)
def test_what_a_database_or_a_renderer_cannot_take_is_refused(value: object, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        inputs.check_json(value)
    assert caught.value.rule == rule


def test_ordinary_json_passes_unchanged() -> None:
    value = {"a": [1, 2.5, None, True, "ü"], "b": {"c": -(2**63)}, "": 2**63 - 1}
    assert inputs.check_json(value) is value


def test_non_json_types_are_a_programming_error() -> None:
    with pytest.raises(TypeError):
        inputs.check_json({"a": {1, 2}})
    with pytest.raises(TypeError):
        inputs.check_json({1: "a"})


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("[" * 100_000 + "]" * 100_000, "size"),
        ("[" * 5000 + "]" * 5000, "depth"),  # within 16 KiB: the parser's own recursion
        ("[" * 40 + "]" * 40, "depth"),
        ('{"a": NaN}', "json"),
        ("{", "json"),
        (b"\xff", "json"),
        ('{"a": "\\u0000"}', "text"),
    ],
)
def test_loads_json_gives_validation_errors(text: str | bytes, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        inputs.loads_json(text, "data")
    assert (caught.value.field, caught.value.rule) == ("data", rule)


def test_loads_json_parses_within_limits() -> None:
    assert inputs.loads_json('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


# --- the read guard ---------------------------------------------------------------------------


def test_reads_of_values_within_limits_are_unchanged() -> None:
    value = nested(inputs.JSON_MAX_DEPTH + 1)
    assert load_json(json.dumps(value)) == value


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(nested(252)),  # what a JTL client once stored: a 500 on every native list
        "[" * 3000 + "]" * 3000,  # beyond Python's parser
        '{"a": 18446744073709551616}',  # beyond orjson
        '{"a": "\\ud800"}',  # a lone surrogate: not UTF-8
        '{"a": NaN}',
    ],
)
def test_reads_of_values_no_renderer_can_write_are_replaced(text: str) -> None:
    value = load_json(text)
    assert isinstance(value, dict) and list(value) == [UNREADABLE]
