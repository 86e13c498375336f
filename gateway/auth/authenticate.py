"""The first stage: who is calling. Fails closed with 401 before any other work.

The common case is one dict lookup (``KeyStore``); only a key the process has not
loaded yet (created on another replica within the last poll) costs a store lookup.
"""

from __future__ import annotations

from gateway.auth.directory import KeyDirectory
from gateway.auth.keys import PRINCIPAL, KeyStore
from gateway.errors import AuthenticationError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage


class Authenticate(Stage):
    def __init__(self, keys: KeyStore, directory: KeyDirectory | None = None) -> None:
        self._keys = keys
        self._directory = directory

    async def enter(self, ctx: RequestContext) -> Reply | None:
        try:
            PRINCIPAL.set(ctx, self._keys.authenticate(ctx.client_headers))
        except AuthenticationError as exc:
            if self._directory is None or exc.code != "invalid_api_key":
                raise
            PRINCIPAL.set(ctx, await self._directory.authenticate(ctx.client_headers))
        return None
