"""Shared pieces of the LLM-application pipeline tests (intent routing, confidence
gate, experiments, feedback): one gateway config and small HTTP helpers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import MASTER_KEY, RESTRICTED_KEY, ROOT, TEAM_KEY, UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer

POLICY = ROOT / "policies" / "intent-routing.yaml"
FLAG_KEY = TEAM_KEY  # team "one": gate policy "flag", feedback retained
RETRY_KEY = "sk-team-retry-key-0123456789"
RETRY_BROKEN_KEY = "sk-team-retry-broken-key-0123"  # retries on a model that fails
REPLACE_KEY = "sk-team-replace-key-0123456789"
PLAIN_KEY = RESTRICTED_KEY  # team "two": no gate, nothing retained, no "auto"
PII_KEY = "sk-team-pii-key-0123456789"  # team "pii": guardrail policy, retained


def policy_intents() -> dict[str, Any]:
    """The ``intents:`` section of the shipped example policy."""
    intents: dict[str, Any] = yaml.safe_load(POLICY.read_text())["intents"]
    return intents


def intent_targets() -> set[str]:
    return {i["target"] for r in policy_intents().values() for i in r["intents"].values()}


def pipeline_config(upstream: str, *, model_dir: Path | None, state_url: str = "") -> str:
    """Every model an intent targets answers through the emulator under its own name;
    ``model_dir`` None routes with n-grams only (no embedder)."""
    intents = policy_intents()
    for router in intents.values():
        router["embedder"] = (
            {"kind": "minilm", "precision": "int8", "model_dir": str(model_dir)}
            if model_dir is not None
            else {"kind": "none"}
        )
    models: dict[str, Any] = {
        name: {"targets": [{"provider": "emu", "model": name}]}
        for name in sorted(intent_targets() | {"gpt-4o-mini", "gpt-4.1"})
    }
    models |= {
        # Priced apart: a gate retry from low to high charges each call at its own price.
        "low": {
            "targets": [{"provider": "emu", "model": "emu-logprobs-low"}],
            "price": {"input": 1.0, "output": 2.0},
        },
        "high": {
            "targets": [{"provider": "emu", "model": "emu-logprobs-high"}],
            "price": {"input": 10.0, "output": 20.0},
        },
        "sparse": {"targets": [{"provider": "compat", "model": "emu-sparse"}]},
        "broken": {"targets": [{"provider": "emu", "model": "emu-error-400"}]},
    }
    document = {
        "state": {"url": state_url} if state_url else {},
        "admin": {"master_key": MASTER_KEY},
        "providers": {
            "emu": {"kind": "openai", "base_url": upstream, "api_key": "${TEST_UPSTREAM_KEY}"},
            "compat": {
                "kind": "openai-compatible",
                "base_url": upstream,
                "api_key": "${TEST_UPSTREAM_KEY}",
            },
        },
        "models": models,
        "intents": intents,
        "experiments": {
            "chat-ab": {
                "model": "chat",
                "variants": [
                    {"name": "control", "model": "gpt-4o-mini", "weight": 70},
                    {"name": "candidate", "model": "gpt-4.1", "weight": 30},
                ],
            }
        },
        "confidence": {
            "policies": {
                "flag": {"min_mean": 0.5, "action": "flag"},
                "retry": {"min_mean": 0.5, "action": "retry", "retry_model": "high"},
                "retry-broken": {"min_mean": 0.5, "action": "retry", "retry_model": "broken"},
                "replace": {"min_mean": 0.5, "action": "replace", "message": "Not sure."},
            }
        },
        "guardrails": {
            "policies": {
                "pii": {"input": [{"name": "pii", "validator": "gateway/pii", "action": "redact"}]},
            }
        },
        "teams": {
            "one": {"confidence": "flag", "feedback": {"retain_content": True}},
            "two": {"models": ["gpt-4o-mini", "gpt-4.1", "chat", "low"]},
            "retry": {"confidence": "retry"},
            "retrybroken": {"confidence": "retry-broken"},
            "replace": {"confidence": "replace"},
            "pii": {"guardrails": "pii", "feedback": {"retain_content": True}},
        },
        "keys": [
            {"team": "one", "key": TEAM_KEY},
            {"team": "two", "key": RESTRICTED_KEY},
            {"team": "retry", "key": RETRY_KEY},
            {"team": "retrybroken", "key": RETRY_BROKEN_KEY},
            {"team": "replace", "key": REPLACE_KEY},
            {"team": "pii", "key": PII_KEY},
        ],
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def chat(
    url: str, body: dict[str, Any], key: str = TEAM_KEY, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {key}", **(headers or {})},
        timeout=20,
    )


def admin(url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, url + path, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=20, **kwargs
    )


def ledger_note(url: str, request_id: str) -> dict[str, Any]:
    """The ledger's pipeline note of one request (the write is flushed on read)."""
    response = admin(url, "GET", "/admin/usage/records", params={"request_id": request_id})
    assert response.status_code == 200, response.text
    records = response.json()["data"]
    assert len(records) == 1, records
    note: dict[str, Any] = records[0].get("pipeline", {})
    return note


@contextlib.contextmanager
def serving(config_text: str, tmp: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(config_text, tmp, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY})
    try:
        process.wait("/health/ready", timeout=60)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def pipeline_gateway(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """The pipeline config with n-gram-only intent routing (no model to load); one per
    test module that imports it (module scope, so it stops with that module)."""
    config = pipeline_config(emulator.base_url, model_dir=None)
    with serving(config, tmp_path_factory.mktemp("pipeline")) as process:
        yield process
