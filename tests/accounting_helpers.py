"""Shared by the accounting tests: a gateway config with priced models and budgets, and
small clients for the admin API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, free_port

CAPPED_KEY = "sk-capped-team-key-0123456789"
FREE_KEY = "sk-free-team-key-0123456789"
OTHER_KEY = "sk-other-team-key-0123456789"
# USD per million tokens: 1000 makes one token cost $0.001, so budgets of a few cents
# admit a handful of requests.
PRICE = 1000.0


def accounting_config(
    emulator_url: str, silent_url: str, *, state: str, budget: float = 1.0, extra: str = ""
) -> str:
    return f"""
admin: {{master_key: "{MASTER_KEY}"}}
state: {state}
accounting:
  flush_interval_s: 0.02
  prices:
    targets:
      "emu/gpt-4o-mini": {{input: {PRICE}, output: {PRICE}}}
      "emu/emu-slow-stream": {{input: {PRICE}, output: {PRICE}}}
      "emu/emu-stream-error": {{input: {PRICE}, output: {PRICE}}}
      "silent/silent": {{input: {PRICE}, output: {PRICE}}}
      "silent/silent-slow": {{input: {PRICE}, output: {PRICE}}}
providers:
  emu:
    kind: openai
    base_url: "{emulator_url}"
    api_key: "{UPSTREAM_KEY}"
    timeouts: {{connect: 1, first_byte: 5, total: 20}}
  silent:
    kind: openai-compatible
    base_url: "{silent_url}"
    health: null
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  slow: {{targets: [{{provider: emu, model: emu-slow-stream}}]}}
  stream-error: {{targets: [{{provider: emu, model: emu-stream-error}}]}}
  err-500: {{targets: [{{provider: emu, model: emu-error-500}}]}}
  silent: {{targets: [{{provider: silent, model: silent}}]}}
  silent-slow: {{targets: [{{provider: silent, model: silent-slow}}]}}
teams:
  capped: {{models: ["*"], budget_usd: {budget}}}
  free: {{models: ["*"]}}
  other: {{models: ["gpt-4o-mini"]}}
keys:
  - {{team: capped, key: "{CAPPED_KEY}"}}
  - {{team: free, key: "{FREE_KEY}"}}
  - {{team: other, key: "{OTHER_KEY}"}}
{extra}
"""


def start_gateway(config: str, tmp: Path) -> GatewayProcess:
    tmp.mkdir(parents=True, exist_ok=True)
    gateway = GatewayProcess(config, tmp, env={"GATEWAY_DATA_DIR": str(tmp / "data")})
    gateway.wait("/health/live")
    return gateway


def embedded_state(tmp: Path) -> str:
    return f'{{path: "{tmp / "state.db"}"}}'


def admin(gateway: GatewayProcess, key: str = MASTER_KEY) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.url, headers={"authorization": f"Bearer {key}"}, timeout=20
    )


def wait_record(gateway: GatewayProcess, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
    """The ledger record of one request (it is written just after the request ends)."""
    deadline = time.monotonic() + timeout
    with admin(gateway) as client:
        while True:
            data = client.get("/admin/usage/records", params={"request_id": request_id}).json()
            if data["data"]:
                assert len(data["data"]) == 1, data
                return dict(data["data"][0])
            if time.monotonic() > deadline:
                raise AssertionError(f"no usage record for {request_id}")
            time.sleep(0.05)


def chat(model: str = "gpt-4o-mini", text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


__all__ = ["free_port"]
