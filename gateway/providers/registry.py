"""Provider kind → translator class and health probe. The one place a new wire
protocol is registered."""

from __future__ import annotations

from collections.abc import Callable

from gateway.config.schema import Provider
from gateway.providers import anthropic, azure, openai, trtllm
from gateway.providers.anthropic import AnthropicTranslator
from gateway.providers.azure import AzureTranslator
from gateway.providers.base import TranslatorFactory, UpstreamRequest
from gateway.providers.openai import OpenAITranslator
from gateway.providers.openai_compatible import OpenAICompatibleTranslator
from gateway.providers.trtllm import TrtllmTranslator

HealthRequest = Callable[[Provider], UpstreamRequest]

TRANSLATORS: dict[str, TranslatorFactory] = {
    "openai": OpenAITranslator,
    "openai-compatible": OpenAICompatibleTranslator,
    "azure": AzureTranslator,
    "anthropic": AnthropicTranslator,
    "trtllm": TrtllmTranslator,
}
HEALTH_REQUESTS: dict[str, HealthRequest] = {
    "openai": openai.health_request,
    "openai-compatible": openai.health_request,
    "azure": azure.health_request,
    "anthropic": anthropic.health_request,
    "trtllm": trtllm.health_request,
}


def translator_for(kind: str) -> TranslatorFactory:
    try:
        return TRANSLATORS[kind]
    except KeyError:
        raise ValueError(f"provider kind {kind!r} is not supported by this build") from None


def health_request(provider: Provider) -> UpstreamRequest | None:
    """The probe for ``provider``'s kind; None when probing is off (``health: null``)."""
    if provider.health is None:
        return None
    return HEALTH_REQUESTS[provider.kind](provider)
