"""One provider's HTTP connection pool, and the one place httpx errors become ours.

Each provider gets its own ``httpx.AsyncClient`` so pool sizes and timeouts follow its
config and one slow provider cannot starve another's connections.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from gateway.config.schema import Provider
from gateway.errors import ServiceUnavailableError, UpstreamError, UpstreamTimeoutError
from gateway.providers.base import Translator, TranslatorInput, UpstreamRequest
from gateway.providers.registry import translator_for


class ProviderClient:
    def __init__(self, name: str, config: Provider) -> None:
        self.name = name
        self.config = config
        self._factory = translator_for(config.kind)
        timeouts = config.timeouts
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.first_byte,
                write=timeouts.first_byte,
                pool=timeouts.connect,
            ),
            limits=httpx.Limits(
                max_connections=config.pool.max_connections,
                max_keepalive_connections=config.pool.max_keepalive,
                keepalive_expiry=config.pool.keepalive_expiry,
            ),
            follow_redirects=False,
            trust_env=False,
        )

    def translator(self, request: TranslatorInput) -> Translator:
        return self._factory(self.config, request)

    async def send(self, request: UpstreamRequest) -> httpx.Response:
        """Send and return once the response headers are in; the body is not read yet."""
        built = self.http.build_request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        with upstream_errors():
            return await self.http.send(built, stream=True)

    async def probe(self) -> bool:
        health = self.config.health
        if health is None:
            return True
        url = f"{self.config.base_url.rstrip('/')}/{health.path.lstrip('/')}"
        headers = dict(self.config.headers)
        if self.config.api_key:
            headers["authorization"] = f"Bearer {self.config.api_key}"
        try:
            response = await self.http.get(url, headers=headers, timeout=health.timeout_s)
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    async def aclose(self) -> None:
        await self.http.aclose()


@contextlib.contextmanager
def upstream_errors() -> Iterator[None]:
    """Map transport failures to the most specific gateway error; never leak the URL."""
    try:
        yield
    except httpx.ConnectTimeout:
        raise UpstreamTimeoutError("Timed out connecting to the upstream.") from None
    except httpx.PoolTimeout:
        raise ServiceUnavailableError(
            "The gateway has no free connection to the upstream; try again shortly."
        ) from None
    except httpx.TimeoutException:
        raise UpstreamTimeoutError("The upstream did not answer in time.") from None
    except httpx.ConnectError:
        raise UpstreamError("The upstream is unreachable.", code="upstream_unreachable") from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        raise UpstreamError(
            "The upstream closed the connection unexpectedly.", code="upstream_disconnected"
        ) from None
    except httpx.HTTPError:
        raise UpstreamError("The upstream request failed.") from None
