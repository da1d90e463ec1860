"""Spaaza sessions: login, login status, logout (they check their own credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import store
from voucherd.dialects.spaaza.auth import hostname_chain, session_credentials
from voucherd.dialects.spaaza.errors import SpaazaError
from voucherd.dialects.spaaza.replies import LoggedIn
from voucherd.faces.runtime import Context
from voucherd.services.attempts import Budget

Params = Mapping[str, Any]


def login(ctx: Context[None], params: Params) -> LoggedIn:
    chain = hostname_chain(ctx.uow, ctx.inbound.headers)
    username, password = params.get("username"), params.get("password")
    if not username or not password:
        raise SpaazaError(E.PASSWORD_ERROR)
    # A wrong password spends the login budget of this address and of this user name.
    subject = f"spaaza-user:{chain}:{username}"
    ctx.uow.attempts.guard(Budget.AUTH, subject)
    user = store.authenticate(ctx.uow, str(username), str(password), chain)
    if user is None:
        ctx.uow.attempts.failed(Budget.AUTH, subject)
        raise SpaazaError(E.PASSWORD_ERROR)
    key, expires_at = store.create_session(ctx.uow, user)
    return LoggedIn(user, key, expires_at)


def get_login_status(ctx: Context[None], params: Params) -> store.User:
    credentials = session_credentials({}, params) or session_credentials(ctx.inbound.headers)
    if credentials is None:
        raise SpaazaError(E.NO_VALID_SESSION)
    user = store.session_user(ctx.uow, *credentials)
    if user is None:
        raise SpaazaError(E.NO_VALID_SESSION)
    return user


def logout(ctx: Context[None], params: Params) -> None:
    credentials = session_credentials(ctx.inbound.headers) or session_credentials({}, params)
    if credentials is None or not store.end_session(ctx.uow, *credentials):
        raise SpaazaError(E.NO_VALID_SESSION)
