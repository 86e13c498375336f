"""Shared pieces of the response-cache tests: the exported embedder, configs, helpers."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.cache import verifier
from gateway.embedding import export_onnx
from gateway.embedding.embedder import default_model_dir
from tests.conftest import MASTER_KEY, RESTRICTED_KEY, TEAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer

DATA = Path(__file__).resolve().parent / "data"
OTHER_KEY = "sk-team-three-key-0123456789"  # team "nocache": cache off
STRICT_KEY = "sk-team-four-key-0123456789"  # team "exactonly": semantic off


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The ONNX export of the packaged MiniLM, and the cache verifiers' pair models:
    reused from the user cache dir when there, else exported once (what the Dockerfile
    does at build time)."""
    pytest.importorskip("onnxruntime")
    directory = default_model_dir()
    if not export_onnx.is_exported(directory, int8=True):
        pytest.importorskip("torch")
        export_onnx.export(directory)
    for weights in (verifier.WEIGHTS, verifier.WEIGHTS_ZH):
        if not export_onnx.is_pair_exported(directory, weights):
            pytest.importorskip("torch")
            export_onnx.export_pair_model(directory, weights)
    return directory


def cache_config(
    upstream: str, model_dir: Path, *, state_url: str = "", extra_teams: str = ""
) -> str:
    state = f'state: {{url: "{state_url}"}}' if state_url else ""
    return f"""
{state}
admin:
  master_key: "{MASTER_KEY}"
providers:
  emu:
    kind: openai
    base_url: "{upstream}"
    api_key: "${{TEST_UPSTREAM_KEY}}"
    timeouts: {{connect: 1, first_byte: 3, total: 10}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  gpt-4.1-mini: {{targets: [{{provider: emu, model: gpt-4.1-mini}}]}}
  text-embedding-3-small: {{targets: [{{provider: emu, model: text-embedding-3-small}}]}}
  slow: {{targets: [{{provider: emu, model: emu-slow-stream}}]}}
  truncated: {{targets: [{{provider: emu, model: emu-truncated-stream}}]}}
  stream-error: {{targets: [{{provider: emu, model: emu-stream-error}}]}}
teams:
  one: {{models: ["*"]}}
  two: {{models: ["*"]}}
  nocache: {{models: ["*"], cache: {{enabled: false}}}}
  exactonly: {{models: ["*"], cache: {{semantic: false}}}}
{extra_teams}
keys:
  - {{team: one, key: "{TEAM_KEY}"}}
  - {{team: two, key: "{RESTRICTED_KEY}"}}
  - {{team: nocache, key: "{OTHER_KEY}"}}
  - {{team: exactonly, key: "{STRICT_KEY}"}}
cache:
  enabled: true
  ttl_s: 600
  semantic:
    threshold: 0.86
    max_temperature: 0.5
    embedder: {{model_dir: "{model_dir}"}}
"""


def chat(text: str, **params: Any) -> dict[str, Any]:
    return {
        "model": params.pop("model", "gpt-4o-mini"),
        "messages": [{"role": "user", "content": text}],
        "temperature": params.pop("temperature", 0),
        **params,
    }


def ask(
    url: str, body: dict[str, Any], key: str = TEAM_KEY, headers: dict[str, str] | None = None
) -> httpx.Response:
    response = httpx.post(
        url + "/v1/chat/completions" if "messages" in body else url + "/v1/completions",
        json=body,
        headers={"authorization": f"Bearer {key}", **(headers or {})},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    return response


def upstream_calls(emulator: EmulatorServer, text: str) -> int:
    """How many requests reached the upstream whose last message contains ``text``."""
    count = 0
    for request in emulator.requests:
        body = request.get("body") or {}
        messages = body.get("messages") or [{"content": body.get("prompt", "")}]
        content = messages[-1].get("content") if isinstance(messages[-1], dict) else ""
        if isinstance(content, str) and text in content:
            count += 1
    return count


def unique(text: str) -> str:
    """A sentence nobody else in the session asked (a code keeps the guard agreeing)."""
    return f"{text} (ref {uuid.uuid4().hex[:8]})"


def wait_searchable(gateway: GatewayProcess, key: str, token: str = TEAM_KEY) -> dict[str, object]:
    """The entry's status once the semantic index can find it (or after 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        status = httpx.get(
            f"{gateway.url}/v1/cache/entries/{key}", headers={"authorization": f"Bearer {token}"}
        )
        assert status.status_code == 200, status.text
        body: dict[str, object] = status.json()
        if body["searchable"] or time.monotonic() > deadline:
            return body
