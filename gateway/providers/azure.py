"""Azure OpenAI: OpenAI's wire format behind deployment URLs.

Only the request differs (https://learn.microsoft.com/azure/ai-services/openai/reference):

- the URL names a *deployment*, not a model:
  ``{base_url}/openai/deployments/{deployment}/{endpoint}?api-version={version}``; the
  target's ``model`` is the deployment name;
- the key goes in an ``api-key`` header (an ``authorization`` header in the provider's
  ``headers`` works instead, for Entra ID tokens);
- ``api-version`` is required; without it Azure answers a bare 404.

What the api-version's spec declares comes from ``policies/capabilities.yaml`` (keyed by
api-version): versions without the ``developer`` role get it as ``system``; versions
without ``stream_options`` are not asked for the usage chunk (older ones answer
"Unrecognized request argument supplied: stream_options"; the gateway then counts the
tokens itself); undeclared fields (``reasoning_effort``, ``service_tier``) are dropped.

Responses are OpenAI's, plus ``prompt_filter_results`` / ``content_filter_results``
annotations that OpenAI clients ignore. Content-filter annotation chunks (asynchronous
filtering) come with ``id: ""``, ``created: 0`` and ``model: ""``: they get the
stream's own. Azure's content-filter refusal is a 400 with
``code: "content_filter"`` in OpenAI's own error shape, so the base class's error
mapping already passes it through as OpenAI would (message, param and code, without
Azure's ``innererror`` detail); its leading stream chunk with empty ``choices`` is
dropped by the base class too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from gateway.config.schema import Provider
from gateway.providers.base import ProviderKind, StreamStep, TranslatorInput, UpstreamRequest
from gateway.providers.capabilities import capabilities_for
from gateway.providers.openai import OpenAITranslator, join_url

DEFAULT_API_VERSION = "2024-10-21"  # the current GA data-plane version
_encode = msgspec.json.Encoder().encode


class AzureTranslator(OpenAITranslator):
    def __init__(self, provider: Provider, request: TranslatorInput) -> None:
        super().__init__(provider, request)
        version = provider.api_version or DEFAULT_API_VERSION
        self.capabilities = capabilities_for("azure", version, provider.capabilities)
        # The stream's id, created and model, for annotation chunks that carry none.
        self._head: dict[str, Any] = {}

    def prepare_body(self, body: dict[str, Any]) -> dict[str, Any]:
        caps = self.capabilities
        body = super().prepare_body(body)
        if not caps.stream_options:
            body.pop("stream_options", None)
        body = caps.sendable(body)
        messages = body.get("messages")
        if "developer" not in caps.roles and isinstance(messages, list):
            body["messages"] = [
                {**m, "role": "system"}
                if isinstance(m, dict) and m.get("role") == "developer"
                else m
                for m in messages
            ]
        return body

    def parse_chunk(self, chunk: dict[str, Any]) -> StreamStep:
        for key in ("id", "created", "model"):
            if chunk.get(key):
                self._head.setdefault(key, chunk[key])
            elif key in self._head and chunk.get("choices"):
                chunk[key] = self._head[key]
        return super().parse_chunk(chunk)

    def build_request(self) -> UpstreamRequest:
        request = self.request
        body = self.prepare_body(dict(request.body))
        deployment = quote(request.upstream_model, safe="")
        path = f"/openai/deployments/{deployment}/{request.endpoint.value}"
        return UpstreamRequest(
            method="POST",
            url=f"{join_url(self.provider.base_url, path)}?api-version={_version(self.provider)}",
            headers=self._headers,
            content=_encode(body),
        )

    def _base_headers(self) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "x-ms-client-request-id": self.request.request_id,
        }
        if self.provider.api_key:
            headers["api-key"] = self.provider.api_key
        headers.update(self.provider.headers)
        headers.update(self.request.trace_headers)
        return headers


def health_request(provider: Provider) -> UpstreamRequest:
    """``GET /openai/models``: lists the resource's models without spending tokens."""
    assert provider.health is not None
    headers = dict(provider.headers)
    if provider.api_key:
        headers["api-key"] = provider.api_key
    path = provider.health.path or "/openai/models"
    separator = "&" if "?" in path else "?"
    url = f"{join_url(provider.base_url, path)}{separator}api-version={_version(provider)}"
    return UpstreamRequest("GET", url, headers, b"")


def _version(provider: Provider) -> str:
    return quote(provider.api_version or DEFAULT_API_VERSION, safe="")


KIND = ProviderKind("azure", AzureTranslator, health_request, "azure.ai.openai")
