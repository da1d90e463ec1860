"""Campaign pages: list, create (with code settings), generate with live progress, the codes
as CSV, a printable sheet of cards with QR codes.

Generating runs as a job of the built-in worker (``services/jobs.py``), so the request answers
at once and the job page shows progress: ``static/progress.js`` polls the job's JSON (no
inline script: the CSP forbids it); without JavaScript the page refreshes itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.domain import codes, errors
from voucherd.domain.money import from_decimal, normalize_currency
from voucherd.domain.staff import Action
from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.faces.runtime import Context, call
from voucherd.services import campaigns, cards, exports, jobs, staff
from voucherd.services.vouchers import NewVoucher
from voucherd.web import qr
from voucherd.web.face import FACE, PREFIX, Page
from voucherd.web.kit import common as _common
from voucherd.web.kit import form, signed_in
from voucherd.web.kit import run as _page
from voucherd.web.transfers import download

ALPHABETS: Mapping[str, str] = {
    "unambiguous": codes.UNAMBIGUOUS,
    "alphanumeric": codes.ALPHANUMERIC,
    "numeric": codes.NUMERIC,
}
MAX_GENERATE = 1_000_000


def _id(request: Request, name: str = "campaign_id") -> int:
    text = request.path_params[name]
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise errors.NotFound("campaign" if name == "campaign_id" else "job")
    return int(text)


def _int(fields: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise errors.ValidationFailed(f"{name} must be a whole number", field=name)
    return int(text)


def _day(fields: Mapping[str, str], name: str) -> datetime | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        raise errors.ValidationFailed(f"{name} must be a date", field=name) from None


def _template(fields: Mapping[str, str]) -> NewVoucher:
    """The form's value settings as a voucher template (money typed in major units)."""
    try:
        kind = ValueKind(fields.get("kind", "stored_value"))
    except ValueError:
        raise errors.ValidationFailed("choose a value kind", field="kind") from None
    currency_text = fields.get("currency", "").strip()
    currency = normalize_currency(currency_text) if currency_text else None
    value = fields.get("value", "").strip()[:32]
    spec = NewVoucher(kind=kind, currency=currency)
    if kind in (ValueKind.STORED_VALUE, ValueKind.FIXED_DISCOUNT):
        if currency is None:
            raise errors.ValidationFailed("give a currency", field="currency")
        minor = from_decimal(value or "0", currency)
        if kind is ValueKind.STORED_VALUE:
            spec.amount = minor
        else:
            spec.discount_amount = minor
    elif kind in (ValueKind.PERCENT_DISCOUNT, ValueKind.CASHBACK):
        try:
            percent = Decimal(value or "0")
        except InvalidOperation:
            percent = Decimal("NaN")
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise errors.ValidationFailed("give a percentage from 0 to 100", field="value")
        bps = int((percent * 100).to_integral_value())
        if kind is ValueKind.PERCENT_DISCOUNT:
            spec.discount_bps = bps
        else:
            spec.cashback_bps = bps
    else:
        spec.gift_description = value or None
    spec.starts_at = _day(fields, "starts_at")
    ends = _day(fields, "ends_at")
    spec.ends_at = ends.replace(hour=23, minute=59, second=59) if ends else None
    period = _int(fields, "validity_value")
    if period is not None:
        spec.validity_value = period
        try:
            spec.validity_unit = ValidityUnit(fields.get("validity_unit", "months"))
        except ValueError:
            raise errors.ValidationFailed("choose a unit", field="validity_unit") from None
    return spec


def _code_spec(fields: Mapping[str, str]) -> codes.CodeSpec:
    alphabet = ALPHABETS.get(fields.get("alphabet", "unambiguous"))
    if alphabet is None:
        raise errors.ValidationFailed("choose an alphabet", field="alphabet")
    return codes.CodeSpec(
        charset=alphabet,
        length=_int(fields, "length", 12) or 12,
        prefix=codes.normalize(fields.get("prefix", ""))[:32],
        suffix=codes.normalize(fields.get("suffix", ""))[:32],
        check_char=fields.get("check_char") == "yes",
    )


def _new_page(ctx: Context[staff.StaffUser], **extra: Any) -> Page:
    return Page(
        "campaign_new.html",
        _common(
            ctx,
            kinds=list(ValueKind),
            units=list(ValidityUnit),
            alphabets=list(ALPHABETS),
            **extra,
        ),
        status=422 if extra.get("message") else 200,
    )


async def list_campaigns(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.LOOK_UP)
        rows = campaigns.list_page(ctx.uow, ctx.caller.actor, after_id=None, limit=200)
        return Page("campaigns.html", _common(ctx, campaigns=rows))

    return await _page(request, op)


async def new_campaign(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.CAMPAIGNS)
        return _new_page(ctx, fields={})

    return await _page(request, op)


async def create_campaign(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.CAMPAIGNS)
        fields = form(ctx.inbound)
        name = fields.get("name", "").strip()
        try:
            if not name or len(name) > 255:
                raise errors.ValidationFailed("give a name (up to 255 characters)", field="name")
            row = campaigns.create(
                ctx.uow,
                ctx.caller.actor,
                name=name,
                template=_template(fields),
                code_spec=_code_spec(fields),
                activate_on_create=fields.get("active") == "yes",
            )
        except (errors.ValidationFailed, errors.InvalidAmount) as exc:
            # The form again, filled in as it was, with what to fix (nothing was written).
            return _new_page(ctx, fields=fields, message=_why(exc))
        return Page(redirect=f"{PREFIX}/campaigns/{row['id']}")

    return await _page(request, op, write=True)


def _why(exc: errors.VoucherdError) -> str:
    field = getattr(exc, "field", None)
    return f"{exc.message} ({field})" if field else exc.message


async def campaign_page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.LOOK_UP)
        campaign_id = _id(request)
        actor = ctx.caller.actor
        row = campaigns.get(ctx.uow, actor, id=campaign_id)
        count = cards.voucher_count(ctx.uow, actor, campaign_id)
        return Page(
            "campaign.html",
            _common(
                ctx,
                c=row,
                spec=campaigns.code_spec(row),
                count=count,
                jobs=jobs.for_campaign(ctx.uow, actor, campaign_id),
                example=next(campaigns.code_spec(row).generate(1)),
            ),
        )

    return await _page(request, op)


async def generate(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.CAMPAIGNS)
        campaign_id = _id(request)
        count = _int(form(ctx.inbound), "count")
        if count is None or not 1 <= count <= MAX_GENERATE:
            raise errors.ValidationFailed(
                f"generate between 1 and {MAX_GENERATE} codes at a time", field="count"
            )
        job = jobs.queue_generate(ctx.uow, ctx.caller.actor, campaign_id, count)
        return Page(redirect=f"{PREFIX}/jobs/{job['id']}")

    return await _page(request, op, write=True)


def _job_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    total, done = int(row["total"]), int(row["done"])
    failed = row["status"] == jobs.FAILED
    return {
        "id": row["id"],
        "campaign_id": row["campaign_id"],
        "status": row["status"],
        "done": done,
        "total": total,
        "percent": int(done * 100 / total) if total else 100,
        "finished": row["status"] in (jobs.SUCCEEDED, jobs.FAILED),
        "error": (row["errors"] or [{}])[0].get("message") if failed else None,
    }


async def job_page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.LOOK_UP)
        row = jobs.get(ctx.uow, ctx.caller.actor, _id(request, "job_id"))
        return Page("job.html", _common(ctx, job=_job_view(row)))

    return await _page(request, op)


async def job_json(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> dict[str, Any]:
        staff.authorize(ctx.caller, Action.LOOK_UP)
        return _job_view(jobs.get(ctx.uow, ctx.caller.actor, _id(request, "job_id")))

    return await call(
        FACE,
        request,
        op,
        authenticate=signed_in,
        render=lambda view: Response(orjson.dumps(view), media_type="application/json"),
        write=False,
    )


async def codes_csv(request: Request) -> Response:
    """The campaign's vouchers as CSV: managers and owners; the codes need READ_SECRETS."""
    campaign_id = request.path_params["campaign_id"]

    def plan(ctx: Context[staff.StaffUser]) -> exports.Export:
        user = ctx.caller
        staff.authorize(user, Action.EXPORT)
        return exports.plan_vouchers(
            ctx.uow,
            user.actor,
            with_codes=user.may(Action.READ_SECRETS),
            campaign_id=_id(request),
        )

    return await download(request, plan, filename=f"campaign-{_slug(campaign_id)}-codes.csv")


def _slug(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isalnum())[:20]


async def sheet(request: Request) -> Response:
    page_text = request.query_params.get("page", "1")
    digits = page_text.isascii() and page_text.isdigit() and len(page_text) <= 6
    page_number = int(page_text) if digits else 1

    def op(ctx: Context[staff.StaffUser]) -> Page:
        staff.authorize(ctx.caller, Action.EXPORT)
        staff.authorize(ctx.caller, Action.READ_SECRETS)
        found = cards.sheet(ctx.uow, ctx.caller.actor, _id(request), page_number)
        return Page(
            "sheet.html",
            _common(ctx, sheet=found, c=found.campaign, qr=qr.data_uri),
        )

    return await _page(request, op)


def register(sub: FastAPI) -> None:
    routes: list[tuple[str, Any, str]] = [
        ("/campaigns", list_campaigns, "GET"),
        ("/campaigns/new", new_campaign, "GET"),
        ("/campaigns", create_campaign, "POST"),
        ("/campaigns/{campaign_id}", campaign_page, "GET"),
        ("/campaigns/{campaign_id}/generate", generate, "POST"),
        ("/campaigns/{campaign_id}/codes.csv", codes_csv, "GET"),
        ("/campaigns/{campaign_id}/sheet", sheet, "GET"),
        ("/jobs/{job_id}", job_page, "GET"),
        ("/jobs/{job_id}/progress", job_json, "GET"),
    ]
    for path, endpoint, method in routes:
        sub.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
