"""Money and dates for people: Babel, in the locale the browser asks for.

Babel is imported on first use (a dashboard page), not by the API's workers at start
(docs/benchmarks.md, "Session 5: server memory").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from voucherd.domain.money import exponent

DEFAULT_LOCALE = "en_US"
SUPPORTED = ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "ms_MY", "en_SG")


def negotiate(accept_language: str | None) -> str:
    """The best supported locale for an ``Accept-Language`` header (default en_US)."""
    from babel import Locale

    wanted = []
    for part in (accept_language or "").split(",")[:10]:
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            wanted.append(tag)
    found = Locale.negotiate(wanted, list(SUPPORTED), sep="_") if wanted else None
    return str(found) if found is not None else DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Formats:
    locale: str = DEFAULT_LOCALE

    @classmethod
    def for_request(cls, headers: Mapping[str, str]) -> Formats:
        from babel import UnknownLocaleError

        try:
            return cls(negotiate(headers.get("accept-language")))
        except (UnknownLocaleError, ValueError):
            return cls()

    def money(self, amount: int | None, currency: str | None) -> str:
        from babel.numbers import format_currency, format_decimal

        if amount is None:
            return ""
        if currency is None:
            return format_decimal(amount, locale=self.locale)
        return format_currency(
            Decimal(amount).scaleb(-exponent(currency)), currency, locale=self.locale
        )

    def when(self, value: datetime | None) -> str:
        from babel.dates import format_datetime

        if value is None:
            return ""
        return format_datetime(value, format="medium", tzinfo=UTC, locale=self.locale)

    def day(self, value: date) -> str:
        """A short day for a chart axis ("Nov 30", "30. Nov.")."""
        from babel.dates import format_skeleton

        return format_skeleton("MMMd", value, locale=self.locale)

    def number(self, value: int) -> str:
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.locale)

    def minor(self, currency: str) -> int:
        return exponent(currency)
