"""The /spaaza sub-application: paths, methods, body parsing and error envelopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from voucherd.dialects.spaaza import calls, openapi
from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import params as P
from voucherd.dialects.spaaza.errors import SpaazaError, error_response, from_domain
from voucherd.domain.errors import VoucherdError
from voucherd.services.unit_of_work import UnitOfWork

Work = Callable[[UnitOfWork, Mapping[str, str], Mapping[str, Any]], Response]

# (path, methods, call); bodies are forms except claim-vouchers (JSON).
FORM_CALLS: tuple[tuple[str, list[str], Work], ...] = (
    ("/create-voucher", ["POST"], calls.create_voucher),
    ("/claim-voucher", ["POST", "PUT"], calls.claim_voucher),
    ("/unclaim-voucher", ["POST", "PUT"], calls.unclaim_voucher),
    ("/expire-voucher", ["POST", "PUT"], calls.expire_voucher),
    ("/lock-voucher", ["PUT", "POST"], calls.lock_voucher),
    ("/unlock-voucher", ["PUT", "POST"], calls.unlock_voucher),
    ("/auth/redeem-voucher", ["POST", "PUT"], calls.redeem_voucher),
    ("/delete-voucher", ["DELETE"], calls.delete_voucher),
    ("/get-vouchers", ["GET"], calls.get_vouchers),
    ("/get-user-vouchers", ["GET"], calls.get_user_vouchers),
    ("/auth/login", ["POST"], calls.login),
    ("/auth/get-login-status", ["GET"], calls.get_login_status),
    ("/auth/logout", ["DELETE"], calls.logout),
)


def _execute(request: Request, work: Work, params: Mapping[str, Any]) -> Response:
    try:
        with UnitOfWork(request.app.state.engine) as uow:
            return work(uow, request.headers, params)
    except SpaazaError as exc:
        return error_response(exc.spaaza, exc.description)
    except VoucherdError as exc:
        mapped = from_domain(exc)
        return error_response(mapped.spaaza, mapped.description)


def form_endpoint(work: Work) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            params = await P.read(request)
        except SpaazaError as exc:
            return error_response(exc.spaaza, exc.description)
        return await run_in_threadpool(_execute, request, work, params)

    endpoint.__name__ = work.__name__
    endpoint.__doc__ = work.__doc__
    return endpoint


async def claim_vouchers(request: Request) -> Response:
    try:
        body = await P.read_json(request)
    except SpaazaError as exc:
        return error_response(exc.spaaza, exc.description)
    return await run_in_threadpool(_execute, request, calls.claim_vouchers, body)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        return error_response(E.METHOD_NOT_ALLOWED)
    if exc.status_code == 404:
        return error_response(E.NOT_FOUND)
    return error_response(E.INVALID_PARAMETER, str(exc.detail))


def build(parent: FastAPI) -> FastAPI:
    sub = FastAPI(
        title="voucherd: Spaaza-compatible voucher API",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        servers=[{"url": "/spaaza"}],
        description="Spaaza's voucher calls; see docs/compat/spaaza.md.",
    )
    sub.state = parent.state
    routes: list[tuple[str, str, Callable[[Request], Awaitable[Response]], str]] = [
        (path, method, form_endpoint(work), work.__name__)
        for path, methods, work in FORM_CALLS
        for method in methods
    ]
    routes.append(("/claim-vouchers", "POST", claim_vouchers, "claim_vouchers"))
    for path, method, endpoint, name in routes:
        sub.add_api_route(
            path,
            endpoint,
            methods=[method],
            name=name,
            operation_id=f"{name}_{method.lower()}",
            summary=openapi.SUMMARIES[name],
            openapi_extra=openapi.operation(name, [method]),
        )
    original = sub.openapi

    def with_security() -> dict[str, Any]:
        if sub.openapi_schema is None:
            document = original()
            document.setdefault("components", {})["securitySchemes"] = openapi.SECURITY_SCHEMES
            sub.openapi_schema = document
        return sub.openapi_schema

    sub.openapi = with_security  # type: ignore[method-assign]
    sub.add_exception_handler(StarletteHTTPException, http_error)
    return sub
