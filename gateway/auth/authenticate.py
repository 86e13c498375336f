"""The first stage: who is calling. Fails closed with 401 before any other work."""

from __future__ import annotations

from gateway.auth.keys import KeyStore
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage


class Authenticate(Stage):
    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    async def enter(self, ctx: RequestContext) -> Reply | None:
        ctx.principal = self._keys.authenticate(ctx.client_headers)
        return None
