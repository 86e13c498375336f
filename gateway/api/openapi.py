"""``GET /openapi/openapi.json``: the gateway's own OpenAPI document.

Litestar generates the paths from the route handlers. The handlers read raw bodies (so
the pipeline decodes each body once, with its own errors), which leaves Litestar nothing
to describe them with; the request bodies, admin query parameters and the bearer scheme
are added here from the same msgspec types that validate requests, so the document
cannot drift from what the gateway accepts. Fuzzers (schemathesis) and client
generators read it. The document is built once per process, on first request.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.router import Router

from gateway import __version__
from gateway.accounting.config import BudgetPeriod
from gateway.api.errors import error_response
from gateway.api.responses import request_id
from gateway.config.schema import Team
from gateway.errors import NotFoundError
from gateway.limits.config import Limits
from gateway.wire.requests import ChatCompletionRequest, CompletionRequest, EmbeddingRequest

PATH = "/openapi"
_REF = "#/components/schemas/{name}"


class NewTeam(Team, frozen=True, kw_only=True):
    """``POST /admin/teams``: a name and any field of a config team."""

    name: str


class NewKey(msgspec.Struct, kw_only=True):
    team: str
    name: str = ""
    expires_at: float | str | None = None
    expires_in_s: float | None = None
    budget_usd: float | None = None
    budget_period: BudgetPeriod | None = None
    limits: Limits | None = None


class KeyChanges(msgspec.Struct, kw_only=True):
    name: str | None = None
    expires_at: float | str | None = None
    budget_usd: float | None = None
    budget_period: BudgetPeriod | None = None
    limits: Limits | None = None


class Rotation(msgspec.Struct, kw_only=True):
    grace_s: float = 0.0


# (path, method) → the body it takes.
_BODIES: dict[tuple[str, str], type[Any]] = {
    ("/v1/chat/completions", "post"): ChatCompletionRequest,
    ("/v1/completions", "post"): CompletionRequest,
    ("/v1/embeddings", "post"): EmbeddingRequest,
    ("/admin/teams", "post"): NewTeam,
    ("/admin/teams/{name}", "patch"): Team,
    ("/admin/keys", "post"): NewKey,
    ("/admin/keys/{key_id}", "patch"): KeyChanges,
    ("/admin/keys/{key_id}/rotate", "post"): Rotation,
}
_USAGE_QUERY = ("team", "key", "model", "request_id", "start", "end")
_QUERIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("/admin/keys", "get"): ("team",),
    ("/admin/usage", "get"): (*_USAGE_QUERY, "group_by"),
    ("/admin/usage/records", "get"): (*_USAGE_QUERY, "limit"),
    ("/admin/usage/export", "get"): _USAGE_QUERY,
    ("/admin/cache", "delete"): ("team",),
}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add request bodies, query parameters and the bearer scheme to Litestar's paths."""
    _, schemas = msgspec.json.schema_components(set(_BODIES.values()), ref_template=_REF)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(schemas)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "a gateway key"}
    }
    document["security"] = [{"bearer": []}]
    paths = document.setdefault("paths", {})
    for path in [p for p in paths if p == PATH or p.startswith(PATH + "/")]:
        del paths[path]  # the document's own routes
    for path, method in _BODIES:
        if path.startswith("/v1/"):  # plain ASGI handlers: Litestar leaves them out
            paths.setdefault(path, {}).setdefault(method, _openai_operation(path))
    for path, item in paths.items():
        for method, operation in item.items():
            body = _BODIES.get((path, method))
            if body is not None:
                operation["requestBody"] = {
                    "required": path.startswith("/v1/"),
                    "content": {
                        "application/json": {"schema": {"$ref": _REF.format(name=body.__name__)}}
                    },
                }
            names = _QUERIES.get((path, method), ())
            if names:
                operation.setdefault("parameters", []).extend(
                    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                    for name in names
                )
            if path.startswith("/health/") or path in ("/metrics", "/.well-known/jwks.json"):
                operation["security"] = []
    return document


def _openai_operation(path: str) -> dict[str, Any]:
    name = path.removeprefix("/v1/").replace("/", "_")
    return {
        "operationId": f"create_{name}",
        "summary": f"OpenAI's {path}",
        "responses": {
            "200": {"description": "OpenAI's response object; with stream: true, SSE chunks"},
            "default": {"description": "OpenAI's error object"},
        },
    }


class _Document(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type=MediaType.JSON)
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = msgspec.json.encode(complete(openapi_schema))
        return self._rendered


def _openai_not_found(response: Response[Any]) -> Response[Any]:
    """Litestar answers unknown paths under the document's prefix with an HTML page."""
    if response.status_code != 404 or response.media_type == MediaType.JSON:
        return response
    return error_response(NotFoundError("Invalid URL", code="unknown_url"), request_id({}))


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="llm-gateway",
        version=__version__,
        description="An OpenAI-compatible inference gateway.",
        path=PATH,
        render_plugins=[_Document()],
        openapi_router=Router(PATH, route_handlers=[], after_request=_openai_not_found),
    )
