"""Money as integer minor units plus an ISO 4217 currency.

Every face parses its own wire format ("10.53", cents, floats) into ``Money`` at the edge and
renders it back there; the engine never sees a float or a Decimal amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final

from voucherd.domain.errors import CurrencyMismatch, InvalidAmount, ValidationFailed

# Active ISO 4217 codes. Minor-unit exponents other than 2 are listed in _EXPONENTS.
_CODES: Final = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
    PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905
)
_EXPONENTS: Final = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
}

# No single movement may exceed this many minor units (10^13, e.g. 100 billion EUR): large
# enough for any real voucher, small enough that sums never approach a 64-bit column's range.
MAX_MINOR_UNITS: Final = 10**13


def is_currency(code: str) -> bool:
    return code in _CODES


def normalize_currency(code: str) -> str:
    """Return the upper-case ISO 4217 code, or raise ``ValidationFailed``."""
    upper = code.strip().upper() if isinstance(code, str) else ""
    if upper not in _CODES:
        raise ValidationFailed(
            f"{code!r} is not an ISO 4217 currency code", field="currency", rule="valid_currency"
        )
    return upper


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise InvalidAmount("amount must be an integer number of minor units")
        if abs(self.amount) > MAX_MINOR_UNITS:
            raise InvalidAmount("amount is too large", limit=MAX_MINOR_UNITS)
        if self.currency not in _CODES:
            raise ValidationFailed(
                f"{self.currency!r} is not an ISO 4217 currency code",
                field="currency",
                rule="valid_currency",
            )

    def same_currency(self, currency: str) -> None:
        if currency != self.currency:
            raise CurrencyMismatch(
                f"currency {self.currency} does not match the voucher's {currency}",
                expected=currency,
                given=self.currency,
            )


def positive(amount: int, field: str = "amount") -> int:
    if amount <= 0:
        raise InvalidAmount(f"{field} must be greater than zero", field=field)
    if amount > MAX_MINOR_UNITS:
        raise InvalidAmount(f"{field} is too large", field=field, limit=MAX_MINOR_UNITS)
    return amount


def from_decimal(value: str | Decimal | int | float, currency: str) -> int:
    """Parse a major-unit decimal ("10.53") into minor units, refusing excess precision."""
    try:
        dec = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidAmount(f"{value!r} is not a number") from exc
    if not dec.is_finite():
        raise InvalidAmount(f"{value!r} is not a finite number")
    scaled = dec.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(
            f"{value} has more decimal places than {currency} allows ({exponent(currency)})"
        )
    minor = int(scaled)
    if abs(minor) > MAX_MINOR_UNITS:
        raise InvalidAmount("amount is too large", limit=MAX_MINOR_UNITS)
    return minor


def to_decimal(amount: int, currency: str) -> Decimal:
    exp = exponent(currency)
    return (Decimal(amount).scaleb(-exp)).quantize(Decimal(1).scaleb(-exp))


def format_decimal(amount: int, currency: str, *, min_places: int = 0) -> str:
    """Render minor units as a plain decimal string with the currency's exponent ("10.53").

    ``min_places`` pads a format that always shows that many decimals (JTL: two, so 10 JPY is
    "10.00"); a currency with more decimals (KWD 1.234) keeps all of them, never rounded.
    """
    places = max(exponent(currency), min_places)
    return str(to_decimal(amount, currency).quantize(Decimal(1).scaleb(-places)))


def apply_basis_points(amount: int, basis_points: int) -> int:
    """``amount * bp / 10000`` rounded half-even, the banker's rounding payment systems use."""
    return int((Decimal(amount) * basis_points / 10000).quantize(Decimal(1), ROUND_HALF_EVEN))
