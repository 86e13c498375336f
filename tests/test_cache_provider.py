"""The pluggable embedder: an embeddings model called through the gateway's own
embeddings routing instead of the in-process MiniLM."""

from __future__ import annotations

import time

import pytest

from tests.cache_support import ask, chat, unique
from tests.conftest import TEAM_KEY, UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer


def test_provider_embedder_embeds_through_the_embeddings_route(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = f"""
providers:
  emu: {{kind: openai, base_url: "{emulator.base_url}", api_key: "${{TEST_UPSTREAM_KEY}}"}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  embedder: {{targets: [{{provider: emu, model: text-embedding-3-small}}]}}
teams:
  one: {{models: ["*"]}}
keys:
  - {{team: one, key: "{TEAM_KEY}"}}
cache:
  enabled: true
  semantic: {{threshold: 0.95, embedder: {{kind: provider, model: embedder}}}}
"""
    gateway = GatewayProcess(
        config,
        tmp_path_factory.mktemp("cache-provider"),
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    try:
        gateway.wait("/health/ready", timeout=60)
        text = unique("How do I rotate my API credentials?")
        ask(gateway.url, chat(text))
        deadline = time.monotonic() + 5
        while ask(gateway.url, chat(text)).headers["x-gateway-cache"] != "hit":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        embedded = [
            r
            for r in emulator.requests
            if r["path"].endswith("/embeddings") and (r["body"] or {}).get("input") == text
        ]
        assert embedded and embedded[0]["body"]["model"] == "text-embedding-3-small"
        # Same last turn, different exact key (the embedded text is stripped): semantic.
        hit = ask(gateway.url, chat(text + "  "))
        assert hit.headers["x-gateway-cache"] == "semantic"
        assert float(hit.headers["x-gateway-cache-similarity"]) > 0.999
        # The emulator's vectors are hashes of the text: another question is far away.
        assert (
            ask(gateway.url, chat(unique("Where is my invoice?"))).headers["x-gateway-cache"]
            == "miss"
        )
    finally:
        gateway.stop()
