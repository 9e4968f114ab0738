"""The hot routes, served straight from the middleware stack ahead of Starlette's router.

After the middlewares, a request passes through Starlette's exception middleware, FastAPI's
exit stack, the router and the route, each a call and some a wrapper of ``send``: on the wire
that was about a tenth of the CPU of a single decision. ``DirectRoutes`` matches a request
against a few routes first (the same ``Route`` objects the router holds: the same matching and
path parameters), calls the one that matches itself, and answers what it raises with the app's
own exception handlers, as the router would. Any other request goes on to the router.

A direct route must send nothing before it has its whole answer: an error it raises is
answered here, which is possible only while nothing has been sent.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoutes:
    """Serve ``routes`` without the router; everything else goes on to ``app``."""

    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    try:
                        await route.handle(scope, receive, send)
                    except Exception as exc:
                        response = await _handled(scope, receive, exc)
                        await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _handled(scope: Scope, receive: Receive, exc: Exception) -> Response:
    """Give the answer of the app's handler for ``exc``; raise ``exc`` if it has none."""
    handlers = scope["app"].exception_handlers
    handler = handlers.get(exc.status_code) if isinstance(exc, HTTPException) else None
    if handler is None:  # by class, as Starlette looks; Exception itself is the edge's (a 500)
        found = (h for c in type(exc).__mro__ if c is not Exception and (h := handlers.get(c)))
        handler = next(found, None)
    if handler is None:
        raise exc
    answer = handler(Request(scope, receive), exc)
    response: Response = await answer if inspect.isawaitable(answer) else answer
    return response
