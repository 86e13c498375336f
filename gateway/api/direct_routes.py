"""The raw ASGI routes with a fixed path (the generation POSTs) dispatched ahead of
Litestar's router.

Why: Litestar's entry point, exception middleware, router and route object cost about
25 µs per request and wrap every ``send`` (one per stream chunk) in a closure of their
own, a tenth of the gateway's CPU per request; these handlers use none of it (they read
and answer on ASGI themselves, ``api.asgi``). Every other route, path parameters
included, and every other method on these paths, is still Litestar's.

An unexpected exception answers 500 in OpenAI's error shape, as Litestar's handler does
(``api.errors``), unless the answer has begun, when the connection is closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from litestar import Litestar
from litestar.handlers import ASGIRouteHandler

from gateway.api.asgi import Receive, Scope, Send, request_headers, send_error
from gateway.api.errors import unexpected
from gateway.api.responses import request_id

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


def direct_routes(route_handlers: Iterable[Any]) -> dict[str, Handler]:
    """Path -> handler for every ``@asgi`` route whose path has no parameters."""
    table: dict[str, Handler] = {}
    for handler in route_handlers:
        if isinstance(handler, ASGIRouteHandler):
            for path in handler.paths:
                if "{" not in path:
                    table[path] = handler.fn
    return table


class GatewayApp(Litestar):
    """Litestar, with the fixed-path raw ASGI routes called directly."""

    def __init__(self, *, route_handlers: list[Any], **kwargs: Any) -> None:
        super().__init__(route_handlers=route_handlers, **kwargs)
        self._direct = direct_routes(route_handlers)

    @staticmethod
    def _get_default_plugins(plugins: list[Any]) -> list[Any]:
        """Only msgspec's plugin: every model here is a msgspec ``Struct``. Litestar would
        also add its pydantic and attrs plugins whenever those packages are installed
        (an SDK or an extra brings pydantic along), and pydantic's costs ~9 MB per worker."""
        from litestar.plugins.core import MsgspecDIPlugin

        return [*plugins, MsgspecDIPlugin()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            handler = self._direct.get(scope["path"])
            if handler is not None:
                scope["app"] = scope["litestar_app"] = self
                try:
                    await handler(scope, receive, send)
                except Exception as exc:  # a bug: answer as Litestar's handler would
                    await _unexpected(scope, send, exc)
                return
        await super().__call__(scope, receive, send)


async def _unexpected(scope: Scope, send: Send, exc: Exception) -> None:
    error = unexpected(scope["method"], scope["path"], exc)
    try:
        await send_error(send, error, request_id(request_headers(scope)))
    except Exception:  # the answer had begun: the server closes the connection
        return
