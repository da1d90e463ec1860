"""CSV in and out on the dashboard: downloads of vouchers, ledger entries and events, and the
upload of a voucher import. The same services as the API and the CLI; managers and owners
only (a clerk or an auditor is refused), codes only for a role that may read secrets.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import urlencode

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from voucherd.domain import errors
from voucherd.domain.staff import Action
from voucherd.faces import csvout, upload
from voucherd.faces.runtime import Context, Inbound, call
from voucherd.services import exports, imports, reports, staff
from voucherd.web.face import FACE, PREFIX, Page
from voucherd.web.kit import common as _common
from voucherd.web.kit import run as _page
from voucherd.web.kit import signed_in

IMPORT_PATH = "/imports/vouchers"


async def download(
    request: Request,
    plan: Callable[[Context[staff.StaffUser]], exports.Export],
    *,
    filename: str | None = None,
) -> Response:
    """Run ``plan`` for the signed-in user, then stream its rows as a CSV download."""
    engine: Engine = request.app.state.engine

    def render(export: exports.Export) -> Response:
        lines = csvout.lines(export.header, exports.rows(engine, export))
        name = filename or export.filename
        return StreamingResponse(
            (line.encode() for line in lines),
            media_type=csvout.MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return await call(
        FACE, request, plan, authenticate=signed_in, render=render, write=False, idempotent=False
    )


async def exports_page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.EXPORT)
        return Page("exports.html", _common(ctx))

    return await _page(request, op)


async def export_vouchers(request: Request) -> Response:
    def plan(ctx: Context[staff.StaffUser]) -> exports.Export:
        user = ctx.caller
        staff.authorize(user, Action.EXPORT)
        return exports.plan_vouchers(ctx.uow, user.actor, with_codes=user.may(Action.READ_SECRETS))

    return await download(request, plan)


def _period_plan(
    kind: Callable[..., exports.Export],
) -> Callable[[Context[staff.StaffUser]], exports.Export]:
    def plan(ctx: Context[staff.StaffUser]) -> exports.Export:
        staff.authorize(ctx.caller, Action.EXPORT)
        query = ctx.inbound.query
        return kind(
            ctx.uow,
            ctx.caller.actor,
            since=reports.parse_moment(query.get("from") or None, "from"),
            until=reports.parse_moment(query.get("to") or None, "to"),
        )

    return plan


async def export_ledger(request: Request) -> Response:
    return await download(request, _period_plan(exports.plan_ledger))


async def export_events(request: Request) -> Response:
    return await download(request, _period_plan(exports.plan_events))


async def import_form(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.CAMPAIGNS)
        return Page("import.html", _common(ctx, columns=imports.COLUMNS))

    return await _page(request, op)


async def import_upload(request: Request) -> Response:
    """The uploaded file is spooled by the form parser (memory up to 1 MiB, then disk)."""
    limit = int(request.app.state.settings.max_import_bytes)
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > limit:
        too_large = errors.ValidationFailed(f"a file may have at most {limit} bytes", field="file")
        return FACE.refusal_response(too_large, Inbound(request, b""))
    try:
        fields = await request.form(max_files=1, max_fields=5)
    except (HTTPException, MultiPartException):
        fields = FormData()  # a malformed upload: no CSRF token, so it is refused as such
    file = fields.get("file")
    csrf = fields.get("csrf")
    small = urlencode({"csrf": csrf if isinstance(csrf, str) else ""}).encode()
    active = fields.get("active") == "yes"

    def op(ctx: Context[staff.StaffUser], body: IO[bytes]) -> Page:
        staff.authorize(ctx.caller, Action.CAMPAIGNS)
        if not isinstance(file, UploadFile) or not file.filename:
            raise errors.ValidationFailed("choose a CSV file", field="file")
        savepoint = ctx.uow.conn.begin_nested()
        try:
            done = imports.import_vouchers(
                ctx.uow, ctx.caller.actor, upload.text_lines(body), active=active
            )
        except errors.ImportRejected as exc:
            savepoint.rollback()  # not even the staged rows stay
            return Page(
                "import.html",
                _common(ctx, columns=imports.COLUMNS, rejected=exc),
                status=422,
            )
        savepoint.commit()
        return Page("import.html", _common(ctx, columns=imports.COLUMNS, created=done.created))

    source: IO[bytes] = file.file if isinstance(file, UploadFile) else io.BytesIO()
    return await upload.call_with_file(
        FACE,
        request,
        source,
        "",
        op,
        authenticate=signed_in,
        render=lambda page: page.response(),
        body=small,
    )


def register(sub: FastAPI) -> None:
    routes: list[tuple[str, Any, str]] = [
        ("/exports", exports_page, "GET"),
        ("/exports/vouchers.csv", export_vouchers, "GET"),
        ("/exports/ledger.csv", export_ledger, "GET"),
        ("/exports/events.csv", export_events, "GET"),
        (IMPORT_PATH, import_form, "GET"),
        (IMPORT_PATH, import_upload, "POST"),
    ]
    for path, endpoint, method in routes:
        sub.add_api_route(path, endpoint, methods=[method], include_in_schema=False)


__all__ = ["PREFIX", "download", "register"]
