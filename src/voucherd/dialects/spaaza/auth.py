"""Spaaza's three ways to authenticate: user session, admin session, privileged token.

* user: ``X-Spaaza-Session-User-Id`` + ``X-Spaaza-Session-Key`` of a non-admin user, with
  ``X-Spaaza-MyPrice-App-Hostname`` naming an app of the user's chain;
* admin: the same session headers of an admin user; the chain is ``chain_id`` (else the app
  hostname, else the admin's own chain) and must be one the admin has the permission on;
* privileged: ``Authorization: Bearer <token>``; the chain is ``chain_id`` or the app hostname.

Legacy header names (``session-user-id``, ``session_user_id``, ``session-key``, ``session_key``,
``X-MyPrice-App-Hostname``) are accepted too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import store
from voucherd.dialects.spaaza.errors import SpaazaError
from voucherd.dialects.spaaza.params import ascii_int
from voucherd.faces.runtime import Authenticate, Inbound
from voucherd.services.unit_of_work import Actor, UnitOfWork

Kind = Literal["user", "admin", "privileged"]
ALL_KINDS: tuple[Kind, ...] = ("user", "admin", "privileged")
TRUSTED: tuple[Kind, ...] = ("admin", "privileged")

USER_ID_HEADERS = ("x-spaaza-session-user-id", "session-user-id", "session_user_id")
KEY_HEADERS = ("x-spaaza-session-key", "session-key", "session_key")
HOSTNAME_HEADERS = ("x-spaaza-myprice-app-hostname", "x-myprice-app-hostname")


@dataclass(frozen=True, slots=True)
class Caller:
    kind: Kind
    chain_id: int
    user: store.User | None  # the session's user (user and admin authentication)

    @property
    def actor(self) -> Actor:
        who = f"{self.kind}:{self.user.user_id}" if self.user else self.kind
        return store.actor_for(self.chain_id, who)


def header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def hostname_chain(uow: UnitOfWork, headers: Mapping[str, str]) -> int | None:
    """The chain of the app named by the hostname header; None if no header was sent.

    Raises: SpaazaError(no_myprice_app) for an unknown hostname.
    """
    hostname = header(headers, HOSTNAME_HEADERS)
    if hostname is None:
        return None
    chain = store.app_chain(uow, hostname)
    if chain is None:
        raise SpaazaError(E.NO_MYPRICE_APP, "No Myprice app exists for this hostname")
    return chain


def chain_param(params: Mapping[str, str]) -> int | None:
    raw = params.get("chain_id")
    if raw is None:
        return None
    chain = ascii_int(raw)
    if chain is None:
        raise SpaazaError(E.INVALID_PARAMETER, "chain_id must be a 64-bit integer in ASCII digits")
    return chain


def session_credentials(
    headers: Mapping[str, str], params: Mapping[str, str] | None = None
) -> tuple[int, str] | None:
    user_id = header(headers, USER_ID_HEADERS) or (params or {}).get("user_id")
    key = header(headers, KEY_HEADERS) or (params or {}).get("session_key")
    if not user_id or not key:
        return None
    number = ascii_int(user_id)
    return (number, key) if number is not None else None


def bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def resolve(
    uow: UnitOfWork,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    *,
    allowed: tuple[Kind, ...] = ALL_KINDS,
    permission: str = "write",
) -> Caller:
    """Who is calling, for which chain.

    Raises: SpaazaError no_valid_session (6), no_myprice_app (269),
        permission_denied_or_non_existent (68).
    """
    token = bearer(headers)
    if token is not None:
        token_chain = store.token_chain(uow, token)
        if token_chain is None:
            raise SpaazaError(E.NO_VALID_SESSION)
        wanted = chain_param(params)
        by_host = hostname_chain(uow, headers)
        if wanted is None and by_host is None:
            raise SpaazaError(
                E.NO_MYPRICE_APP,
                "Privileged authentication needs the X-Spaaza-MyPrice-App-Hostname header "
                "or a chain_id",
            )
        if (wanted is not None and wanted != token_chain) or (
            by_host is not None and by_host != token_chain
        ):
            raise SpaazaError(E.PERMISSION_DENIED)
        caller = Caller("privileged", token_chain, None)
    else:
        credentials = session_credentials(headers)
        if credentials is None:
            raise SpaazaError(E.NO_VALID_SESSION)
        user = store.session_user(uow, *credentials)
        if user is None:
            raise SpaazaError(E.NO_VALID_SESSION)
        if user.is_admin:
            chain = chain_param(params)
            if chain is None:
                chain = hostname_chain(uow, headers) or user.chain_id
            if permission not in store.permissions(uow, user, chain):
                raise SpaazaError(E.PERMISSION_DENIED)
            caller = Caller("admin", chain, user)
        else:
            by_host = hostname_chain(uow, headers)
            if by_host is None:
                raise SpaazaError(E.NO_MYPRICE_APP)
            wanted = chain_param(params)
            if by_host != user.chain_id or (wanted is not None and wanted != user.chain_id):
                raise SpaazaError(E.PERMISSION_DENIED)
            caller = Caller("user", user.chain_id, user)
    if caller.kind not in allowed:
        raise SpaazaError(E.PERMISSION_DENIED)
    return caller


def authenticator(
    params: Mapping[str, str],
    *,
    allowed: tuple[Kind, ...] = ALL_KINDS,
    permission: str = "write",
) -> Authenticate[Caller]:
    """The runtime's authenticator for a call: ``resolve`` on the request's headers, with the
    chain named in ``params`` (``chain_id``)."""

    def authenticate(inbound: Inbound, uow: UnitOfWork) -> Caller:
        return resolve(uow, inbound.headers, params, allowed=allowed, permission=permission)

    return authenticate


def anonymous(_inbound: Inbound, _uow: UnitOfWork) -> None:
    """Login, login status and logout check their session themselves (sessions.py)."""
    return None
