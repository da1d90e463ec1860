"""The signed-in user's own account: change one's password (every role may).

Changing it ends the user's other sessions (this one stays), as an event by the user.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from voucherd.faces.runtime import Context
from voucherd.services import staff, staff_admin
from voucherd.web import kit
from voucherd.web.admin import attempt, fields
from voucherd.web.face import PREFIX, Page


async def page(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        done = ctx.inbound.query.get("done") == "password"
        return Page("account.html", kit.common(ctx, done="Password changed." if done else None))

    return await kit.run(request, op)


async def change_password(request: Request) -> Response:
    def op(ctx: Context[staff.StaffUser]) -> Page:
        values = fields(ctx.inbound)
        new = values.get("new_password", "")
        if new != values.get("repeat_password", ""):
            refused: str | None = "The two new passwords differ."
        else:
            _, refused = attempt(
                ctx,
                lambda: staff_admin.change_own_password(
                    ctx.uow, ctx.caller, values.get("current_password", ""), new
                ),
            )
        if refused is not None:
            return Page("account.html", kit.common(ctx, refused=refused), status=422)
        return Page(redirect=f"{PREFIX}/account?done=password")

    return await kit.run(request, op, write=True)


def register(sub: FastAPI) -> None:
    sub.add_api_route("/account", page, methods=["GET"], include_in_schema=False)
    sub.add_api_route(
        "/account/password", change_password, methods=["POST"], include_in_schema=False
    )
