"""RM members: engine customers named by country code + phone number.

The customer's ``external_ref`` is ``rm:+<countryCode>:<phoneNumber>`` (digits only, the
national number without leading zeros), so the same person is one customer however the
number was typed.
"""

from __future__ import annotations

from typing import Any

from voucherd.db import repositories as repo
from voucherd.dialects.revenue_monster.errors import RmError
from voucherd.services import tenants
from voucherd.services.unit_of_work import Actor, UnitOfWork


def normalize(country_code: Any, phone: Any) -> tuple[str, str]:
    """Raises: RmError VALIDATION_ERROR when either part is missing or not ASCII digits."""
    cc = "".join(str(country_code or "").split()).lstrip("+")
    number = "".join(str(phone or "").replace("-", "").split()).lstrip("0")
    if not (cc.isascii() and cc.isdigit()) or not 1 <= len(cc) <= 4:
        raise RmError("VALIDATION_ERROR", "countryCode is required (digits, e.g. 60)")
    if not (number.isascii() and number.isdigit()) or not 4 <= len(number) <= 15:
        raise RmError("VALIDATION_ERROR", "phoneNumber is required (digits)")
    return cc, number


def external_ref(country_code: str, phone: str) -> str:
    return f"rm:+{country_code}:{phone}"


def find(uow: UnitOfWork, actor: Actor, country_code: Any, phone: Any) -> repo.Row:
    """Raises: RmError MEMBER_NOT_FOUND, VALIDATION_ERROR."""
    cc, number = normalize(country_code, phone)
    row = tenants.customer_by_ref(uow, actor, external_ref(cc, number))
    if row is None:
        raise RmError("MEMBER_NOT_FOUND")
    return row


def get_or_create(uow: UnitOfWork, actor: Actor, country_code: Any, phone: Any) -> repo.Row:
    cc, number = normalize(country_code, phone)
    ref = external_ref(cc, number)
    row = tenants.customer_by_ref(uow, actor, ref)
    if row is None:
        row = tenants.create_customer(
            uow,
            actor,
            external_ref=ref,
            phone=f"+{cc}{number}",
            metadata={"countryCode": cc, "phoneNumber": number},
        )
    return row
