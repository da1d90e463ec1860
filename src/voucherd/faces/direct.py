"""Direct routes: a face's hottest operations answered without the framework's routing.

FastAPI resolves a request by walking every included router twice and then solving the
route's dependency graph (header extraction, the auth chain, body parsing into the model);
measured under load that was about a fifth of a charge's Python time (docs/benchmarks.md,
"Session 4"). A face may declare a few of its routes *direct*: this pure ASGI layer, inside the
face's guard, matches them by method and path template itself and calls a handler that reads
what it needs (the Authorization header, the JSON body) and goes straight to the runtime
(``runtime.call``), so the request path after matching is the same one.

The framework stays the reference: a handler answers only the requests it is sure about and
returns ``None`` for anything else (no or a bad token, a body that does not validate, an
unusual content type, a token cache due for its read). Such a request goes on to the
framework's route as if this layer were not there (its body replayed), which then answers it,
errors included, exactly as before. So a direct route can only make the common case cheaper,
never change an answer.

Matching is exact: the path template is compiled the way the framework compiles it, and a
parameter value that an earlier-declared literal route would have taken (e.g. ``export`` in
``/v1/vouchers/{voucher_id}`` next to ``/v1/vouchers/export``) is left to the framework
(``shadowed``).

A route of a face mounted under a prefix (a dialect's sub-application, ``mounted``) is matched
here too, before the main app's router: reaching a mount walks every native route first
(70-100 us of CPU per request, docs/benchmarks.md, "Session 5"). The request then looks to the
handler as it would under the mount (root path, app), and what escapes the handler is answered
by that face's error table, as its guard (``faces/guard.py``) would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from voucherd.faces.replay import replaying
from voucherd.faces.runtime import Face, Inbound

# The request (a handler reads its body with ``await request.body()``) and the path parameters; a
# response, or None to leave the request to the framework.
Handler = Callable[[Request, Mapping[str, str]], Awaitable[Response | None]]


@dataclass(frozen=True, slots=True)
class DirectRoute:
    method: str
    path: str  # the template as declared, e.g. "/v1/vouchers/{voucher_id}"
    handler: Handler
    # The framework's route for the same operation: the access line and error logs name it.
    route: BaseRoute | None = None
    # Values of a parameter that an earlier literal route answers instead.
    shadowed: frozenset[str] = field(default_factory=frozenset)
    # Under a mount (``mounted``): its prefix, its app and the face whose guard it has.
    mount: str = ""
    app: ASGIApp | None = None
    face: Face | None = None
    # Taken only with ``Content-Type: application/json`` exactly (what the SDKs and the bench
    # send); any other body type goes to the framework's route untouched.
    json_only: bool = False


class _Compiled:
    __slots__ = ("direct", "literal", "regex")

    def __init__(self, direct: DirectRoute) -> None:
        self.direct = direct
        regex, _format, convertors = compile_path(direct.path)
        self.regex = regex
        # A template without parameters is matched by string comparison.
        self.literal = direct.path if not convertors else None


class DirectRoutes:
    """Pure ASGI: answer the declared routes directly, pass everything else on untouched."""

    def __init__(self, app: ASGIApp, routes: Iterable[DirectRoute]) -> None:
        self.app = app
        self.by_method: dict[str, list[_Compiled]] = {}
        for direct in routes:
            self.by_method.setdefault(direct.method, []).append(_Compiled(direct))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        candidates = self.by_method.get(scope["method"])
        if candidates is not None:
            path = get_route_path(scope)
            for compiled in candidates:
                params: dict[str, str]
                if compiled.literal is not None:
                    if path != compiled.literal:
                        continue
                    params = {}
                else:
                    match = compiled.regex.match(path)
                    if match is None:
                        continue
                    params = match.groupdict()
                    if compiled.direct.shadowed and not compiled.direct.shadowed.isdisjoint(
                        params.values()
                    ):
                        break
                if compiled.direct.json_only and not _sends_json(scope):
                    break
                if await self._direct(compiled.direct, params, scope, receive, send):
                    return
                break
        await self.app(scope, receive, send)

    async def _direct(
        self,
        direct: DirectRoute,
        params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> bool:
        """Answer through ``direct``; False (and the body kept for replay) if it declines."""
        outer = {key: scope[key] for key in _UNDER_MOUNT if key in scope}
        if direct.mount:
            # As the framework's mount would show it (Starlette's ``Mount.matches``).
            root_path = scope.get("root_path", "")
            scope["app_root_path"] = scope.get("app_root_path", root_path)
            scope["root_path"] = root_path + direct.mount
            scope["app"] = direct.app
        request = Request(scope, receive)
        if direct.route is not None:
            scope["route"] = direct.route
            scope["endpoint"] = getattr(direct.route, "endpoint", None)
        scope["path_params"] = params
        if direct.face is None:
            response = await direct.handler(request, params)
        else:
            response = await _guarded(direct.face, direct.handler, request, params)
        if response is not None:
            await response(scope, receive, send)
            return True
        # Declined: the framework gets the request as it came, with the body already read
        # (``Request.body`` keeps it) handed over again.
        for key in ("route", "endpoint", "path_params", *_UNDER_MOUNT):
            scope.pop(key, None)
        scope.update(outer)
        body = getattr(request, "_body", None)
        if body is not None:
            await self.app(scope, replaying(body, receive), send)
            return True
        return False


def _sends_json(scope: Scope) -> bool:
    return any(
        name == b"content-type" and value == b"application/json" for name, value in scope["headers"]
    )


# What a mount changes in the scope (restored when a mounted route declines).
_UNDER_MOUNT = ("root_path", "app_root_path", "app")


async def _guarded(
    face: Face, handler: Handler, request: Request, params: Mapping[str, str]
) -> Response | None:
    """``handler``'s answer; what escapes it answered as the face's guard would answer it."""
    request.scope.setdefault("state", {})["face"] = face.name  # the access line's face
    try:
        return await handler(request, params)
    except Exception as exc:
        return face.refusal_response(exc, Inbound(request, b""))


def _declared(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes in the order the framework tries them (included routers flattened)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _declared(included.routes)
        else:
            yield route


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _taken(route: BaseRoute, method: str, path: str) -> list[str] | None:
    """What ``route``, declared earlier, takes of the requests ``method path`` matches: the
    parameter values it answers itself (literal segments where ``path`` has a parameter), or
    None if it takes none of them.

    Raises: ValueError if it could answer any request ``path`` matches.
    """
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return None
    methods = getattr(route, "methods", None)
    if methods is None:  # a mount: everything under its prefix is its own
        if path.startswith(template.rstrip("/") + "/"):
            raise ValueError(f"{path} is under the mount {template}")
        return None
    if method not in methods:
        return None
    wanted, theirs = _segments(path), _segments(template)
    if len(theirs) != len(wanted):
        return None
    literals: list[str] = []
    for mine, other in zip(wanted, theirs, strict=True):
        if _is_param(other):
            continue
        if _is_param(mine):
            literals.append(other)
        elif mine != other:
            return None
    if not literals:
        raise ValueError(f"{template} answers every request for {path}")
    return literals


def route_for(
    routes: Iterable[BaseRoute],
    method: str,
    path: str,
    handler: Handler,
    *,
    json_only: bool = False,
) -> DirectRoute:
    """A direct route for the framework's route ``method path`` among ``routes``.

    Finds the route (the access line names it) and the parameter values that routes declared
    before it take instead (``shadowed``).

    Raises: ValueError if the route is not there, or an earlier route or mount could answer
    any request it matches (then it cannot be answered directly).
    """
    shadowed: set[str] = set()
    for route in _declared(routes):
        if getattr(route, "path", None) == path and method in (
            getattr(route, "methods", None) or ()
        ):
            return DirectRoute(
                method, path, handler, route, frozenset(shadowed), json_only=json_only
            )
        shadowed.update(_taken(route, method, path) or ())
    raise ValueError(f"no route {method} {path}")


def mounted(
    routes: Iterable[BaseRoute],
    prefix: str,
    method: str,
    path: str,
    handler: Handler,
    face: Face,
    *,
    json_only: bool = False,
) -> DirectRoute:
    """A direct route for ``method path`` of the app mounted at ``prefix`` among ``routes``,
    answered before the main router as that app would answer it (``face``'s guard included).

    Raises: ValueError as ``route_for`` does, for the mounted app's routes and for the routes
    declared before the mount.
    """
    full = prefix + path
    shadowed: set[str] = set()
    for route in _declared(routes):
        if isinstance(route, Mount) and route.path == prefix:
            inner = route_for(route.routes, method, path, handler)
            return DirectRoute(
                method,
                full,
                handler,
                inner.route,
                frozenset(shadowed | inner.shadowed),
                mount=prefix,
                app=route.app,
                face=face,
                json_only=json_only,
            )
        shadowed.update(_taken(route, method, full) or ())
    raise ValueError(f"no mount {prefix}")


def install(app: ASGIApp, routes: Iterable[DirectRoute]) -> None:
    """Answer ``routes`` directly in ``app`` (call before its guard is installed)."""
    app.add_middleware(DirectRoutes, routes=tuple(routes))  # type: ignore[attr-defined]
