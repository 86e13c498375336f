"""The OpenAI Agents SDK (``openai-agents``) running an agent with one function tool
through the gateway's /v1/responses, translated onto a chat-completions upstream."""

from __future__ import annotations

import asyncio

import openai
import pytest

from tests.conftest import TEAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer

agents = pytest.importorskip("agents")


def _shim_usage_details(monkeypatch: pytest.MonkeyPatch) -> None:
    """openai-agents 0.13 (the last release for openai 2.x, which guardrails-ai pins)
    builds ``InputTokensDetails(cached_tokens=0)``, which openai 2.54 rejects (it added
    a required ``cache_write_tokens``): the runner fails before any request. Give the
    field its zero default in the agents module; nothing of the gateway is shimmed."""
    from openai.types.responses.response_usage import InputTokensDetails

    if "cache_write_tokens" not in InputTokensDetails.model_fields:
        return

    class Details(InputTokensDetails):
        cache_write_tokens: int = 0

    monkeypatch.setattr(agents.usage, "InputTokensDetails", Details)


def test_agent_with_one_function_tool(
    gateway: GatewayProcess, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shim_usage_details(monkeypatch)
    calls: list[str] = []

    @agents.function_tool
    def lookup(query: str) -> str:
        """Look something up."""
        calls.append(query)
        return f"found: {query}"

    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=TEAM_KEY, max_retries=0)
    agents.set_tracing_disabled(True)
    agent = agents.Agent(
        name="helper",
        instructions="Use the lookup tool.",
        tools=[lookup],
        model=agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client),
    )

    async def run() -> str:
        result = await agents.Runner.run(agent, "capital of France", max_turns=4)
        await client.close()
        return str(result.final_output)

    final = asyncio.run(run())
    assert calls == ["capital of France"]
    assert final.startswith("echo:")
    # ``kind: openai`` serves the Responses API natively: the upstream gets the items.
    turns = [r["body"] for r in emulator.requests if r["path"].endswith("/responses")]
    assert turns[-1]["instructions"] == "Use the lookup tool."
    last = turns[-1]["input"]
    assert [i.get("type", "message") for i in last] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert last[-1]["output"] == "found: capital of France"
