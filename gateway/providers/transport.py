"""One provider's connection pool, and the one place transport errors become ours.

Each provider gets its own pool so pool sizes and timeouts follow its config and one
slow provider cannot starve another's connections. The pool is the gateway's own lean
HTTP/1.1 client (``gateway.transport``; why not httpx is explained there).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from gateway.config.schema import Provider
from gateway.errors import ServiceUnavailableError, UpstreamError, UpstreamTimeoutError
from gateway.providers.base import Translator, TranslatorInput, UpstreamRequest
from gateway.providers.registry import PROVIDERS, health_request, translator_for
from gateway.transport import (
    ConnectError,
    ConnectionPool,
    ConnectTimeout,
    PoolLimits,
    PoolTimeout,
    ReadTimeout,
    RemoteProtocolError,
    Response,
    TransportError,
)
from gateway.transport.pool import split_url


class ProviderClient:
    def __init__(self, name: str, config: Provider) -> None:
        self.name = name
        self.config = config
        self._factory = translator_for(config.kind)
        self._native = PROVIDERS[config.kind].native
        self._origin, _ = split_url(config.base_url.rstrip("/"))
        self.pool = ConnectionPool(
            config.base_url,
            PoolLimits(
                max_connections=config.pool.max_connections,
                max_keepalive=config.pool.max_keepalive,
                keepalive_expiry=config.pool.keepalive_expiry,
                connect_timeout=config.timeouts.connect,
                pool_timeout=config.timeouts.connect,
            ),
        )
        self._read_timeout = config.timeouts.first_byte

    def translator(self, request: TranslatorInput) -> Translator:
        """This kind's own translator for the request's client surface when it serves
        that surface natively, else its chat translator."""
        native = request.native
        factory = self._native.get(native.surface) if native is not None else None
        return (factory or self._factory)(self.config, request)

    async def send(self, request: UpstreamRequest) -> Response:
        """Send and return once the response headers are in; the body is not read yet."""
        origin, target = split_url(request.url)
        if origin != self._origin:
            # Translators build URLs from this provider's base_url; anything else would
            # let a request steer the gateway somewhere it was not configured to go.
            raise UpstreamError("The upstream URL does not match the provider.")
        with upstream_errors():
            return await self.pool.request(
                request.method,
                target,
                request.headers,
                request.content,
                read_timeout=self._read_timeout,
            )

    async def probe(self) -> bool:
        health = self.config.health
        probe = health_request(self.config)  # each kind probes its own route and headers
        if health is None or probe is None:
            return True
        _, target = split_url(probe.url)
        try:
            # Bounded as a whole: a server trickling bytes re-arms the read timeout.
            async with asyncio.timeout(health.timeout_s):
                response = await self.pool.request(
                    "GET", target, probe.headers, b"", read_timeout=health.timeout_s
                )
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except (TransportError, TimeoutError):
            return False
        return response.status_code < 500

    async def aclose(self) -> None:
        await self.pool.aclose()


@contextlib.contextmanager
def upstream_errors() -> Iterator[None]:
    """Map transport failures to the most specific gateway error; never leak the URL."""
    try:
        yield
    except ConnectTimeout:
        raise UpstreamTimeoutError("Timed out connecting to the upstream.") from None
    except PoolTimeout:
        raise ServiceUnavailableError(
            "The gateway has no free connection to the upstream; try again shortly."
        ) from None
    except ReadTimeout:
        raise UpstreamTimeoutError("The upstream did not answer in time.") from None
    except ConnectError:
        raise UpstreamError("The upstream is unreachable.", code="upstream_unreachable") from None
    except RemoteProtocolError:
        raise UpstreamError(
            "The upstream closed the connection unexpectedly.", code="upstream_disconnected"
        ) from None
    except TransportError:
        raise UpstreamError("The upstream request failed.") from None
