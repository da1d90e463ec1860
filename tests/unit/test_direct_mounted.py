"""A mounted face's direct route (``faces/direct.mounted``): matched before the main router,
seen by its handler as under the mount, guarded by its face, and refused where an earlier
route or mount would answer."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from voucherd.faces import direct
from voucherd.faces.errors import Refusal
from voucherd.faces.runtime import Face, Inbound


def _render(refusal: Refusal, _inbound: Inbound) -> Response:
    return JSONResponse({"face": "f", "code": refusal.code}, status_code=refusal.status)


FACE = Face("f", {Exception: Refusal(500, "INTERNAL", "internal")}, _render)


async def _routed(request: Request) -> Response:
    return JSONResponse({"via": "route", "id": request.path_params["id"]})


def _app(handler: direct.Handler) -> Starlette:
    sub = Starlette(routes=[Route("/things/{id}", _routed, methods=["POST"])])
    app = Starlette(routes=[Route("/main", _routed, methods=["GET"]), Mount("/f", app=sub)])
    declared = direct.mounted(app.router.routes, "/f", "POST", "/things/{id}", handler, FACE)
    assert declared.path == "/f/things/{id}" and declared.face is FACE
    direct.install(app, [declared])
    return app


def test_a_mounted_route_is_answered_as_under_its_mount() -> None:
    async def handler(request: Request, params: Mapping[str, str]) -> Response | None:
        if request.headers.get("x-decline"):
            await request.body()  # read, then declined: the route gets it replayed
            return None
        body = (await request.body()).decode()
        return JSONResponse(
            {
                "via": "direct",
                "id": params["id"],
                "root_path": request.scope["root_path"],
                "route": request.scope["route"].path,
                "body": body,
            }
        )

    with TestClient(_app(handler)) as client:
        answered = client.post("/f/things/7", content=b"hello")
        assert answered.json() == {
            "via": "direct",
            "id": "7",
            "root_path": "/f",
            "route": "/things/{id}",
            "body": "hello",
        }
        declined = client.post("/f/things/8", content=b"hello", headers={"x-decline": "1"})
        assert declined.json() == {"via": "route", "id": "8"}


def test_what_escapes_a_mounted_handler_is_answered_by_its_face() -> None:
    async def handler(_request: Request, _params: Mapping[str, str]) -> Response | None:
        raise RuntimeError("a bug")

    with TestClient(_app(handler), raise_server_exceptions=False) as client:
        answered = client.post("/f/things/7")
    assert answered.status_code == 500
    assert answered.json() == {"face": "f", "code": "INTERNAL"}


async def _nothing(_request: Request, _params: Mapping[str, str]) -> Response | None:
    return None


def test_an_earlier_route_or_mount_keeps_its_requests() -> None:
    sub = Starlette(routes=[Route("/things/{id}", _routed, methods=["POST"])])
    earlier = [Mount("/f/things", app=Starlette()), Mount("/f", app=sub)]
    with pytest.raises(ValueError, match="under the mount"):
        direct.mounted(earlier, "/f", "POST", "/things/{id}", _nothing, FACE)
    literal = [Route("/f/things/special", _routed, methods=["POST"]), Mount("/f", app=sub)]
    declared = direct.mounted(literal, "/f", "POST", "/things/{id}", _nothing, FACE)
    assert declared.shadowed == frozenset({"special"})
    with pytest.raises(ValueError, match="no mount"):
        direct.mounted([Mount("/g", app=sub)], "/f", "POST", "/things/{id}", _nothing, FACE)
