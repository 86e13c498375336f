"""OpenAI-compatible servers: vLLM, llama.cpp's server, Ollama, Qwen's compatible mode.

They take OpenAI's wire format but lag behind it: no ``developer`` role, ``max_tokens``
rather than ``max_completion_tokens``. Response repairs are shared with OpenAI's
translator (``wire.normalize``), so only the request dialect differs here.
"""

from __future__ import annotations

from typing import Any

from gateway.providers.base import ProviderKind
from gateway.providers.openai import OpenAITranslator, health_request


class OpenAICompatibleTranslator(OpenAITranslator):
    def prepare_body(self, body: dict[str, Any]) -> dict[str, Any]:
        body = super().prepare_body(body)
        if "max_completion_tokens" in body:
            limit = body.pop("max_completion_tokens")
            body.setdefault("max_tokens", limit)
        messages = body.get("messages")
        if isinstance(messages, list) and any(m.get("role") == "developer" for m in messages):
            body["messages"] = [
                {**m, "role": "system"} if m.get("role") == "developer" else m for m in messages
            ]
        return body


# Not OpenAI itself, so spans name the provider by its kind.
KIND = ProviderKind(
    "openai-compatible", OpenAICompatibleTranslator, health_request, "openai-compatible"
)
