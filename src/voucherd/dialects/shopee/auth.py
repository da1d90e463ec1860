"""Common parameters and request authentication, Shopee's way.

Common parameters are read from the query string whatever the case of their names
(``Partner_id`` and ``partner_id`` alike, as the ``pyshopee`` client lower-cases them anyway).
Checks run in Shopee's order: presence and shape of each common parameter, timestamp within 5
minutes, partner known, signature, then (shop calls) shop id, partner-shop link and access token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.requests import Request

from voucherd.dialects.shopee import accounts, signing
from voucherd.dialects.shopee import messages as e
from voucherd.dialects.shopee.errors import ShopeeError, gateway_param
from voucherd.dialects.shopee.parse import ascii_uint, query_params
from voucherd.faces.runtime import Inbound
from voucherd.services.attempts import Budget
from voucherd.services.unit_of_work import Actor, UnitOfWork

MAX_SKEW = 300  # seconds: "Expires in 5 minutes."
NO_SHOP = 0  # tenant ids start at 1


def signed_path(request: Request) -> str:
    """The path the client signed: the request path below our mount point (``/api/v2/...``)."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _uint(value: str) -> int | None:
    """0..4294967295 in ASCII digits (``²`` and full-width digits are not digits here)."""
    number = ascii_uint(value)
    return number if number is not None and number <= accounts.MAX_ID else None


@dataclass(frozen=True, slots=True)
class Caller:
    partner_id: int
    shop_id: int | None = None

    @property
    def actor(self) -> Actor:
        """The shop's actor; a public (partner-level) call names no shop: tenant ``NO_SHOP``.

        Public calls only read and write this dialect's own partner tables and are not
        Idempotency-Key calls, so ``NO_SHOP`` never scopes data; the runtime's access log shows
        it as the tenant of the request.
        """
        name = f"shopee:{self.partner_id}"
        return Actor(NO_SHOP if self.shop_id is None else self.shop_id, name, name)


def shop_call(inbound: Inbound, uow: UnitOfWork) -> Caller:
    """The face's authenticator for shop calls (the voucher module)."""
    return authenticate(inbound.request, uow, shop=True)


def public_call(inbound: Inbound, uow: UnitOfWork) -> Caller:
    """The face's authenticator for public calls (token calls, the authorisation page)."""
    return authenticate(inbound.request, uow, shop=False)


def authenticate(request: Request, uow: UnitOfWork, *, shop: bool) -> Caller:
    """Check the common parameters and the signature of a shop call or a public call.

    Raises: ShopeeError (error_param 400; error_auth / error_sign / invalid_acceess_token /
    shop_no_linked 403).
    """
    params = query_params(request.query_params)
    raw_partner = params.get("partner_id")
    if not raw_partner:
        raise gateway_param(e.NO_PARTNER_ID)
    partner_id = _uint(raw_partner)
    if partner_id is None:
        raise gateway_param(e.BAD_PARTNER_ID)
    raw_ts = params.get("timestamp")
    if not raw_ts:
        raise gateway_param(e.NO_TIMESTAMP)
    timestamp = _uint(raw_ts)
    if timestamp is None:
        raise gateway_param(e.BAD_TIMESTAMP)
    now = int(time.time())
    if timestamp < now - MAX_SKEW:
        raise gateway_param(e.EXPIRED_TIMESTAMP)
    if timestamp > now + MAX_SKEW:
        raise gateway_param(e.INVALID_TIMESTAMP)
    given_sign = params.get("sign")
    if not given_sign:
        raise gateway_param(e.NO_SIGN)
    access_token = shop_id = None
    if shop:
        access_token = params.get("access_token")
        if not access_token:
            raise gateway_param(e.NO_ACCESS_TOKEN)
        raw_shop = params.get("shop_id")
        if not raw_shop:
            raise gateway_param(e.NO_SHOP_ID)
        shop_id = _uint(raw_shop)
        if shop_id is None:
            raise gateway_param(e.BAD_SHOP_ID)
    # The token calls (public) spend the authentication budget on a wrong partner or
    # signature; a shop call's failures count too, but only the token calls check the budget
    # (an extra read on every shop call would buy nothing: they need a live access token).
    subject = f"shopee-partner:{partner_id}"
    if not shop:
        uow.attempts.guard(Budget.AUTH, subject)
    partner = accounts.find_partner(uow, partner_id)
    if partner is None:
        uow.attempts.failed(Budget.AUTH, subject)
        raise ShopeeError("error_auth", e.PARTNER_INVALID, status=403)
    # Sign over the values exactly as sent (the client signed its own rendering).
    if not signing.verify(
        given_sign,
        accounts.partner_key(uow, partner),
        raw_partner,
        signed_path(request),
        raw_ts,
        access_token if shop else None,
        params.get("shop_id") if shop else None,
    ):
        uow.attempts.failed(Budget.AUTH, subject)
        raise ShopeeError("error_sign", e.WRONG_SIGN, status=403)
    if not shop:
        return Caller(partner_id)
    assert access_token is not None and shop_id is not None
    token = accounts.find_token(uow, access_token, "access")
    if token is None or token["expires_at"] <= uow.now:
        raise ShopeeError("invalid_acceess_token", e.INVALID_ACCESS_TOKEN, status=403)
    if token["tenant_id"] != shop_id or token["partner_id"] != partner_id:
        raise ShopeeError("error_auth", e.PARTNER_OR_SHOP, status=403)
    if not accounts.is_linked(uow, shop_id, partner_id):
        raise ShopeeError("shop_no_linked", e.SHOP_NO_LINK, status=403)
    return Caller(partner_id, shop_id)
