"""Money parsing/rendering and code generation, normalisation, check characters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voucherd.domain import codes, errors
from voucherd.domain.money import (
    MAX_MINOR_UNITS,
    Money,
    apply_basis_points,
    exponent,
    format_decimal,
    from_decimal,
    normalize_currency,
)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("10.53", "EUR", 1053),
        ("0.01", "USD", 1),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("99999.99", "EUR", 9999999),
        (Decimal("7.5"), "EUR", 750),
    ],
)
def test_from_decimal(text: str, currency: str, minor: int) -> None:
    assert from_decimal(text, currency) == minor


@pytest.mark.parametrize("bad", ["10.531", "abc", "NaN", "Infinity", "1e40"])
def test_from_decimal_refuses(bad: str) -> None:
    with pytest.raises(errors.InvalidAmount):
        from_decimal(bad, "EUR")


def test_yen_has_no_minor_units() -> None:
    assert exponent("JPY") == 0
    with pytest.raises(errors.InvalidAmount):
        from_decimal("1.5", "JPY")


@given(
    st.integers(min_value=0, max_value=MAX_MINOR_UNITS),
    st.sampled_from(["EUR", "JPY", "KWD", "CLF"]),
)
def test_format_then_parse_round_trips(minor: int, currency: str) -> None:
    assert from_decimal(format_decimal(minor, currency), currency) == minor


def test_currency_validation() -> None:
    assert normalize_currency(" eur ") == "EUR"
    with pytest.raises(errors.ValidationFailed) as caught:
        normalize_currency("EUX")
    assert caught.value.field == "currency" and caught.value.rule == "valid_currency"
    with pytest.raises(errors.CurrencyMismatch):
        Money(100, "USD").same_currency("EUR")
    with pytest.raises(errors.InvalidAmount):
        Money(MAX_MINOR_UNITS + 1, "EUR")


def test_basis_points_round_half_even() -> None:
    assert apply_basis_points(1000, 1500) == 150
    assert apply_basis_points(5, 5000) == 2  # 2.5 -> 2
    assert apply_basis_points(7, 5000) == 4  # 3.5 -> 4


def test_generated_codes_follow_the_spec() -> None:
    spec = codes.CodeSpec(length=10)
    generated = list(spec.generate(2000))
    assert len(generated) == 2000
    assert all(len(c) == 10 and set(c) <= set(codes.UNAMBIGUOUS) for c in generated)
    assert len(set(generated)) == 2000  # 31^10 space: a clash here would be a broken generator
    assert not set("01IOL") & set("".join(generated))


def test_generate_draws_randomness_for_what_is_taken_not_for_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Callers ask for a generous bound (a single create asks for a million codes) and take
    a few: the random bytes are drawn in blocks that grow, not for the whole bound at once."""
    drawn: list[int] = []
    real = codes.secrets.token_bytes

    def counting(n: int) -> bytes:
        drawn.append(n)
        return real(n)

    monkeypatch.setattr(codes.secrets, "token_bytes", counting)
    spec = codes.CodeSpec(length=12)
    generator = spec.generate(10**6)
    first = [next(generator) for _ in range(3)]
    assert sum(drawn) < 1_000  # a few codes' worth, not 12 MB
    rest = list(generator)  # all of the bound is still there when it is taken
    assert len(first) + len(rest) == 10**6
    assert all(len(c) == 12 and set(c) <= set(codes.UNAMBIGUOUS) for c in first + rest[:1000])
    assert max(drawn) < codes.MAX_CODE_BLOCK * 12 * 2  # no draw above one block's worth


def test_pattern_prefix_suffix_and_check_character() -> None:
    spec = codes.CodeSpec(pattern="####-####", prefix="gift-", suffix="-x", check_char=True)
    for code in spec.generate(200):
        assert code.startswith("GIFT-") and code[-3:-1] == "-X"
        assert code[9] == "-"
        assert spec.matches(code)
        assert spec.matches(code.lower())
        typo = code[:6] + ("2" if code[6] != "2" else "3") + code[7:]
        assert not spec.matches(typo)  # Luhn mod N catches every single-character change


def test_code_space_guard() -> None:
    spec = codes.CodeSpec(charset="0123456789", length=3)  # 1000 codes: at most 100 issued
    spec.ensure_room(100)
    with pytest.raises(errors.CodeSpaceTooSmall) as caught:
        spec.ensure_room(60, existing=50)
    assert caught.value.details["space"] == 1000


def test_normalize_and_mask() -> None:
    assert codes.normalize(" ab c-d\t") == "ABC-D"
    assert codes.mask("ABCDEFGH") == "****EFGH"
    assert "ABCD" not in codes.mask("ABCDEFGH")


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65, "café"])
def test_custom_codes_are_validated(bad: str) -> None:
    with pytest.raises(errors.ValidationFailed):
        codes.validate_custom(bad)


def test_invalid_specs_are_refused() -> None:
    with pytest.raises(errors.ValidationFailed):
        codes.CodeSpec(charset="AA")
    with pytest.raises(errors.ValidationFailed):
        codes.CodeSpec(pattern="ABC")
    with pytest.raises(errors.ValidationFailed):
        codes.CodeSpec(length=0)


def test_format_decimal_pads_but_never_rounds() -> None:
    assert format_decimal(1234, "KWD", min_places=2) == "1.234"
    assert format_decimal(1053, "EUR", min_places=2) == "10.53"
    assert format_decimal(10, "JPY", min_places=2) == "10.00"
    assert format_decimal(10, "JPY") == "10"
    assert format_decimal(12345, "CLF", min_places=2) == "1.2345"


def test_a_code_space_under_40_bits_needs_pin_protected_stock() -> None:
    small = codes.CodeSpec(pattern="####-####")  # 31^8: 39.6 bits
    assert small.bits < codes.MIN_CODE_BITS
    with pytest.raises(errors.CodeSpaceTooSmall) as refused:
        small.ensure_entropy()
    assert "40" in refused.value.message and refused.value.details["bits"] == 39.6
    small.ensure_entropy(pin_protected=True)  # the PIN carries the entropy
    codes.CodeSpec(pattern="#####-#####").ensure_entropy()  # 49.5 bits
    with pytest.raises(errors.CodeSpaceTooSmall):  # twelve digits: 39.9 bits
        codes.CodeSpec(charset=codes.NUMERIC, length=12).ensure_entropy()


def test_a_wrong_check_character_refutes_a_code_of_that_form_only() -> None:
    checked = codes.CodeSpec(pattern="#####-#####", prefix="X-", check_char=True)
    plain = codes.CodeSpec(length=8)
    good = next(checked.generate(1))
    body, check = good[:-1], good[-1]
    wrong = body + next(c for c in codes.UNAMBIGUOUS if c != check)
    assert not codes.refuted([checked, plain], good)
    assert codes.refuted([checked, plain], wrong)
    assert codes.refuted([checked], wrong.lower())  # compared after normalising
    # Another form (an imported code, another campaign's) is for the database to answer.
    assert not codes.refuted([checked, plain], "ABCDEFGH")
    assert not codes.refuted([checked], "OWN-1")
    assert not codes.refuted([plain], wrong)  # no campaign with a check character
