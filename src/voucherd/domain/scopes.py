"""API scopes, named as JTL names them; the native API and every dialect share them."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    READ = "read"  # read one object
    READ_LISTS = "read-lists"  # list objects
    READ_SECRETS = "read-secrets"  # see codes and PINs
    USE = "use"  # activate, reserve, charge, refund, claim, lock
    MANAGE = "manage"  # create, delete, void, end, expire, campaigns
    UPDATE = "update"  # change metadata
    RECHARGE = "recharge"  # add value


ALL_SCOPES = frozenset(Scope)


def parse_scopes(text: str | list[str]) -> frozenset[Scope]:
    """Raises: ValueError naming the first unknown scope."""
    words = text.replace(",", " ").split() if isinstance(text, str) else text
    result = set()
    for word in words:
        try:
            result.add(Scope(word))
        except ValueError:
            raise ValueError(f"unknown scope {word!r}") from None
    return frozenset(result)
