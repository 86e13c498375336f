"""Resolve the requested model and check the caller's team may use it.

Unknown model → 404, known but not allowed → 403 (the team knows the model exists from
``/v1/models`` anyway only if it is allowed, so nothing leaks that it could not list).
Runs before any upstream work and fails closed.
"""

from __future__ import annotations

from gateway.auth.keys import PRINCIPAL
from gateway.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage
from gateway.routing.models import ROUTE, ModelTable


class ModelAccess(Stage):
    def __init__(self, table: ModelTable) -> None:
        self._table = table

    async def enter(self, ctx: RequestContext) -> Reply | None:
        route = self._table.resolve(ctx.model)
        if route is None:
            raise NotFoundError(
                f"The model `{ctx.model}` does not exist or you do not have access to it.",
                param="model",
            )
        principal = PRINCIPAL.get(ctx)
        if principal is None or not principal.may_use(ctx.model):
            raise PermissionDeniedError(
                f"Your team is not allowed to use the model `{ctx.model}`.", param="model"
            )
        if ctx.endpoint.value not in route.spec.endpoints:
            raise InvalidRequestError(
                f"The model `{ctx.model}` does not support /v1/{ctx.endpoint.value}.",
                param="model",
                code="unsupported_endpoint",
            )
        ROUTE.set(ctx, route)
        return None
