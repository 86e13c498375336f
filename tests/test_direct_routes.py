"""The fixed-path raw ASGI routes are called ahead of Litestar's router, and answer as
the Litestar path did: errors in OpenAI's shape, other routes and methods untouched."""

from __future__ import annotations

from typing import Any

from litestar import asgi, get
from litestar.testing import TestClient

from gateway.api.asgi import post_only, send_error, send_json
from gateway.api.direct_routes import GatewayApp, direct_routes
from gateway.api.errors import EXCEPTION_HANDLERS


@asgi("/v1/boom", copy_scope=False)
async def boom(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("a bug")


@asgi("/v1/echo", copy_scope=False)
async def echo(scope: Any, receive: Any, send: Any) -> None:
    async def error(exc: Any, status: int) -> None:
        await send_error(send, exc, "req-1", status=status)

    if await post_only(scope, send, error):
        await send_json(send, 200, b'{"via": "direct"}', {"x-app": type(scope["app"]).__name__})


@asgi("/v1/items/{item_id:str}", copy_scope=False)
async def item(scope: Any, receive: Any, send: Any) -> None:
    await send_json(send, 200, b'{"via": "litestar"}', {})


@get("/v1/plain")
async def plain() -> dict[str, str]:
    return {"via": "litestar"}


@get("/v1/things/{thing_id:str}")
async def thing(thing_id: str) -> dict[str, str]:
    return {"via": "litestar", "id": thing_id}


def _app() -> GatewayApp:
    return GatewayApp(
        route_handlers=[boom, echo, plain, thing], exception_handlers=EXCEPTION_HANDLERS
    )


def test_only_fixed_asgi_paths_are_direct() -> None:
    assert set(direct_routes([boom, echo, item, plain])) == {"/v1/boom", "/v1/echo"}


def test_direct_route_answers_with_the_app_in_scope() -> None:
    with TestClient(_app()) as client:
        response = client.post("/v1/echo", json={})
        assert response.status_code == 200 and response.json() == {"via": "direct"}
        assert response.headers["x-app"] == "GatewayApp"
        wrong = client.get("/v1/echo")
        assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_an_unexpected_error_is_a_500_in_openai_shape() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.post("/v1/boom", json={}, headers={"x-request-id": "req-boom"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["message"] == "The server had an error while processing your request."
    assert response.headers["x-request-id"] == "req-boom"


def test_other_routes_stay_litestars() -> None:
    with TestClient(_app()) as client:
        assert client.get("/v1/things/abc").json() == {"via": "litestar", "id": "abc"}
        assert client.post("/v1/echo/").status_code == 200  # through Litestar's router
        assert client.get("/v1/plain").json() == {"via": "litestar"}
        assert client.get("/v1/nowhere").status_code == 404


def test_only_msgspec_plugin_even_with_pydantic_installed() -> None:
    """Litestar would add its pydantic and attrs plugins whenever those packages are
    installed (the SDKs bring pydantic), ~9 MB per worker for models the gateway never
    uses; GatewayApp keeps msgspec's alone, and its routes still work."""
    import pydantic  # noqa: F401  (installed here, as in any venv with an SDK)

    app = GatewayApp(route_handlers=[plain], exception_handlers=EXCEPTION_HANDLERS)
    names = [type(plugin).__name__ for plugin in app.plugins]
    assert not [n for n in names if "Pydantic" in n or "Attrs" in n], names
    with TestClient(app) as client:
        assert client.get("/v1/plain").json() == {"via": "litestar"}
