"""Provider kind → translator class. The one place a new wire protocol is registered."""

from __future__ import annotations

from gateway.providers.base import TranslatorFactory
from gateway.providers.openai import OpenAITranslator
from gateway.providers.openai_compatible import OpenAICompatibleTranslator

TRANSLATORS: dict[str, TranslatorFactory] = {
    "openai": OpenAITranslator,
    "openai-compatible": OpenAICompatibleTranslator,
}


def translator_for(kind: str) -> TranslatorFactory:
    try:
        return TRANSLATORS[kind]
    except KeyError:
        raise ValueError(f"provider kind {kind!r} is not supported by this build") from None
