"""Clients other than the openai SDK, unchanged: curl and LangChain's ChatOpenAI."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import TEAM_KEY

USER = "hello gateway world"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_curl(gateway, stream: bool) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": USER}],
        "stream": stream,
    }
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "-N",
            f"{gateway.url}/v1/chat/completions",
            "-H",
            f"Authorization: Bearer {TEAM_KEY}",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps(body),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    if stream:
        events = [line[6:] for line in result.stdout.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        text = "".join(
            json.loads(e)["choices"][0]["delta"].get("content") or ""
            for e in events[:-1]
            if json.loads(e)["choices"]
        )
    else:
        text = json.loads(result.stdout)["choices"][0]["message"]["content"]
    assert text == f"echo: {USER}"


def test_langchain_chat_openai(gateway) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(
        model="gpt-4o-mini", base_url=gateway.url + "/v1", api_key=TEAM_KEY, max_retries=0
    )
    assert llm.invoke(USER).content == f"echo: {USER}"
    assert "".join(chunk.content for chunk in llm.stream(USER)) == f"echo: {USER}"
    tools = llm.bind_tools(
        [
            {
                "type": "function",
                "function": {
                    "name": "search",
                    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
                },
            }
        ]
    )
    call = tools.invoke(USER).tool_calls[0]
    assert call["name"] == "search" and call["args"] == {"query": USER}
