"""The Spaaza voucher lists: get-vouchers and get-user-vouchers (read-only calls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voucherd.dialects.spaaza import errors as E
from voucherd.dialects.spaaza import params as P
from voucherd.dialects.spaaza import queries, rules
from voucherd.dialects.spaaza.auth import Caller
from voucherd.dialects.spaaza.errors import SpaazaError
from voucherd.dialects.spaaza.render import Renderer
from voucherd.dialects.spaaza.replies import UserVouchers, Vouchers
from voucherd.faces.runtime import Context

Params = Mapping[str, Any]
DEFAULT_PAGE = 50
MAX_PAGE = 1000


def filters(params: Params) -> queries.Filters:
    return queries.Filters(
        campaign_id=P.integer(params, "campaign_id"),
        voucher_id=P.integer(params, "voucher_id"),
        show_expired=P.flag(params, "show_expired"),
        show_redeemed=P.flag(params, "show_redeemed"),
        show_all_statuses=P.flag(params, "show_all_statuses"),
        exclude_regenerated=P.flag(params, "exclude_regenerated"),
        min_created=P.when(params.get("min_created_datetime"), "min_created_datetime"),
        max_created=P.until(params.get("max_created_datetime"), "max_created_datetime"),
        min_expiry=P.when(params.get("min_expiry_datetime"), "min_expiry_datetime"),
        max_expiry=P.until(params.get("max_expiry_datetime"), "max_expiry_datetime"),
        min_redeemed=P.when(params.get("min_redeemed_datetime"), "min_redeemed_datetime"),
        max_redeemed=P.until(params.get("max_redeemed_datetime"), "max_redeemed_datetime"),
    )


def get_vouchers(ctx: Context[Caller], params: Params) -> Vouchers:
    found = filters(params)
    target = rules.target_user(ctx.uow, ctx.caller, params, required=False)
    found.user_id = target.user_id if target else None
    limit = P.integer(params, "number_results") or DEFAULT_PAGE
    offset = P.integer(params, "results_offset") or 0
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise SpaazaError(
            E.INVALID_PARAMETER, "number_results must be 1..1000 and results_offset at least 0"
        )
    chain = ctx.caller.chain_id
    total, rows = queries.list_vouchers(ctx.uow, chain, found, limit=limit, offset=offset)
    return Vouchers(Renderer(ctx.uow, chain), rows, total=total)


def get_user_vouchers(ctx: Context[Caller], params: Params) -> UserVouchers:
    target = rules.require_user(ctx.uow, ctx.caller, params)
    show_all = params.get("filter") == "all"
    found = queries.Filters(
        user_id=target.user_id, show_all_statuses=show_all, show_expired=show_all
    )
    chain = ctx.caller.chain_id
    _total, rows = queries.list_vouchers(ctx.uow, chain, found, limit=MAX_PAGE, offset=0)
    return UserVouchers(Renderer(ctx.uow, chain), target.user_id, rows)
