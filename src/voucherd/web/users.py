"""The users page (owners only): staff of the tenant, invite, role, disable, end sessions.

Each change is one ``services.staff_admin`` call, an event whose actor is the owner. An invite
shows the generated one-time password once (only its Argon2 hash is kept).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.domain.staff import Action, Role
from voucherd.faces.runtime import Context
from voucherd.services import staff, staff_admin
from voucherd.web.admin import attempt, fields, item_id, owner
from voucherd.web.face import PREFIX, Page
from voucherd.web.pages import _common, _page

DONE = {
    "role": "Role changed.",
    "disable": "User disabled; their sessions ended.",
    "enable": "User enabled.",
    "logout": "The user's sessions ended.",
}


def _render(ctx: Context[staff.StaffUser], *, status: int = 200, **extra: Any) -> Page:
    user = owner(ctx, Action.USERS)
    members = staff_admin.list_users(ctx.uow, user)
    context = _common(ctx, members=members, roles=[r.value for r in Role], **extra)
    return Page("users.html", context, status=status)


async def page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        return _render(ctx, done=DONE.get(ctx.inbound.query.get("done", "")))

    return await _page(request, op)


async def invite(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        user = owner(ctx, Action.USERS)
        values = fields(ctx.inbound)
        made, refused = attempt(
            ctx,
            lambda: staff_admin.invite(
                ctx.uow, user, values.get("email", ""), values.get("role", "")
            ),
        )
        if refused is not None:
            return _render(ctx, status=422, refused=refused, values=values)
        return _render(ctx, invited=made)

    return await _page(request, op, write=True)


def _change(
    request: Request, name: str, change: Callable[[Context[staff.StaffUser], int], object]
) -> Callable[[Context[staff.StaffUser]], Page]:
    target = request.path_params["user_id"]

    def op(ctx: Context[staff.StaffUser]) -> Page:
        owner(ctx, Action.USERS)
        user_id = item_id(target, "staff user")
        _, refused = attempt(ctx, lambda: change(ctx, user_id))
        if refused is not None:
            return _render(ctx, status=422, refused=refused)
        if user_id == ctx.caller.id and name in ("logout", "role"):
            # The owner ended their own sessions or gave up the owner role: the page is
            # no longer theirs to see.
            return Page(redirect=f"{PREFIX}/")
        return Page(redirect=f"{PREFIX}/users?done={name}#user-{user_id}")

    return op


async def role(request: Request) -> Response:
    def change(ctx: Context[staff.StaffUser], user_id: int) -> object:
        return staff_admin.change_role(
            ctx.uow, ctx.caller, user_id, fields(ctx.inbound).get("role", "")
        )

    return await _page(request, _change(request, "role", change), write=True)


async def disable(request: Request) -> Response:
    disabled = request.url.path.endswith("/disable")

    def change(ctx: Context[staff.StaffUser], user_id: int) -> object:
        staff_admin.set_disabled(ctx.uow, ctx.caller, user_id, disabled=disabled)
        return None

    name = "disable" if disabled else "enable"
    return await _page(request, _change(request, name, change), write=True)


async def logout(request: Request) -> Response:
    def change(ctx: Context[staff.StaffUser], user_id: int) -> object:
        return staff_admin.end_sessions(ctx.uow, ctx.caller, user_id)

    return await _page(request, _change(request, "logout", change), write=True)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/users", page, methods=["GET"], include_in_schema=False)
    sub.add_api_route("/users", invite, methods=["POST"], include_in_schema=False)
    for path, handler in (
        ("role", role),
        ("disable", disable),
        ("enable", disable),
        ("logout", logout),
    ):
        sub.add_api_route(
            f"/users/{{user_id}}/{path}", handler, methods=["POST"], include_in_schema=False
        )


__all__ = ["register"]
