"""Provider kind → what that provider declared about itself (``ProviderKind``): its
translator, health probe, telemetry name and capabilities.

Adding a provider is one module (ending in ``KIND = ProviderKind(...)``) and one row
here; config validation, routing and telemetry read this table, not provider names.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.config.schema import Provider
from gateway.providers import (
    anthropic,
    anthropic_native,
    azure,
    openai,
    openai_compatible,
    openai_responses,
    trtllm,
)
from gateway.providers.base import ProviderKind, TranslatorFactory, UpstreamRequest

PROVIDERS: dict[str, ProviderKind] = {
    kind.name: kind
    for kind in (
        # OpenAI serves the Responses API itself, Anthropic the Messages API: requests on
        # those surfaces pass through natively; every other kind is reached through chat.
        replace(openai.KIND, native={"responses": openai_responses.ResponsesTranslator}),
        openai_compatible.KIND,
        azure.KIND,
        replace(anthropic.KIND, native={"messages": anthropic_native.NativeMessagesTranslator}),
        trtllm.KIND,
    )
}


def translator_for(kind: str) -> TranslatorFactory:
    try:
        return PROVIDERS[kind].translator
    except KeyError:
        raise ValueError(f"provider kind {kind!r} is not supported by this build") from None


def health_request(provider: Provider) -> UpstreamRequest | None:
    """The probe for ``provider``'s kind; None when probing is off (``health: null``)."""
    if provider.health is None:
        return None
    return PROVIDERS[provider.kind].health_request(provider)


def engine_load(kind: str) -> bool:
    """Whether providers of this kind report engine load (engine-aware routing)."""
    found = PROVIDERS.get(kind)
    return found is not None and found.engine_load


def engine_root(kind: str, base_url: str) -> str:
    """The server root whose metrics routes report an engine's load."""
    found = PROVIDERS.get(kind)
    if found is None or found.engine_root is None:
        return base_url.rstrip("/")
    return found.engine_root(base_url)


def telemetry_name(kind: str) -> str:
    """gen_ai.provider.name for this kind (the kind itself when it declares none)."""
    found = PROVIDERS.get(kind)
    return found.telemetry_name if found is not None else kind
