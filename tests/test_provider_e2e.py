"""Azure, Anthropic and trtllm-serve behind the gateway, seen through the real OpenAI SDK.

One gateway subprocess serves all three emulators; every answer is checked against
OpenAI's OpenAPI schemas, and every emulator's request log shows what the provider
actually received (its own wire format, quirks accounted for).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests import openapi_schema
from tests.conftest import TEAM_KEY, GatewayProcess, free_port
from tests.emulators.anthropic_upstream import AnthropicServer
from tests.emulators.azure_upstream import BLOCKED_TERM, AzureServer
from tests.emulators.trtllm_upstream import TrtllmServer
from tests.wire import assert_error, stream_events, validate_chat_chunks

AZURE_KEY = "azure-key-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-emulated-0123456789"
USER = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


class Upstreams:
    def __init__(self) -> None:
        self.azure = AzureServer(api_key=AZURE_KEY).start()
        self.anthropic = AnthropicServer(api_key=ANTHROPIC_KEY).start()
        self.engine = TrtllmServer().start()
        self.late_port = free_port()
        self.late = TrtllmServer(port=self.late_port)

    def stop(self) -> None:
        for server in (self.azure, self.anthropic, self.engine, self.late):
            server.stop()


def config(up: Upstreams) -> str:
    return f"""
providers:
  azure: {{kind: azure, base_url: "{up.azure.base_url}", api_key: "{AZURE_KEY}",
          api_version: "2024-10-21"}}
  anthropic: {{kind: anthropic, base_url: "{up.anthropic.base_url}", api_key: "{ANTHROPIC_KEY}",
              max_tokens: 256}}
  engine: {{kind: trtllm, base_url: "{up.engine.base_url}/v1", health: {{interval_s: 0.5}}}}
  late: {{kind: trtllm, base_url: "http://127.0.0.1:{up.late_port}",
         health: {{interval_s: 0.3}}, timeouts: {{connect: 0.5}}}}
models:
  az-chat: {{targets: [{{provider: azure, model: chat}}]}}
  az-embed: {{targets: [{{provider: azure, model: embed}}]}}
  az-missing: {{targets: [{{provider: azure, model: no-such-deployment}}]}}
  claude: {{targets: [{{provider: anthropic, model: claude-sonnet-4-20250514}}]}}
  claude-sonnet-4-20250514: {{targets: [{{provider: anthropic, model: claude-sonnet-4-20250514}}]}}
  claude-overloaded: {{targets: [{{provider: anthropic, model: claude-overloaded}}]}}
  llama: {{targets: [{{provider: engine, model: llama-3.1-8b-instruct}}]}}
  late: {{targets: [{{provider: late, model: llama}}]}}
teams: {{one: {{models: ["*"]}}}}
keys: [{{team: one, key: "{TEAM_KEY}"}}]
"""


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    up = Upstreams()
    yield up
    up.stop()


@pytest.fixture(scope="module")
def gw(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    process = GatewayProcess(config(upstreams), tmp_path_factory.mktemp("providers"))
    try:
        process.wait("/health/live")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def sdk(gw: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_KEY, max_retries=0)


@pytest.fixture(scope="module")
def http(gw: GatewayProcess) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {TEAM_KEY}"}
    with httpx.Client(base_url=gw.url, headers=headers, timeout=20) as client:
        yield client


def last_body(server: AzureServer | AnthropicServer | TrtllmServer) -> dict:
    """The last API call the upstream received (health probes left out)."""
    log = server.engine.requests if isinstance(server, TrtllmServer) else server.emulator.requests
    return [r for r in log if r.get("method", "POST") == "POST"][-1]


# ---------------------------------------------------------------- Azure


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_azure_chat(
    sdk: openai.OpenAI, http: httpx.Client, upstreams: Upstreams, stream: bool
) -> None:
    body = {"model": "az-chat", "messages": USER, "stream": stream}
    if stream:
        chunks, _, done = stream_events(http, "/v1/chat/completions", body)
        validate_chat_chunks(chunks)
        assert done and all(c["choices"] or c.get("usage") for c in chunks), "filter chunk leaked"
        assert (
            "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
            == "echo: hello there"
        )
    else:
        raw = sdk.chat.completions.with_raw_response.create(model="az-chat", messages=USER)
        openapi_schema.validate("CreateChatCompletionResponse", raw.http_response.json())
        assert raw.parse().choices[0].message.content == "echo: hello there"
    sent = last_body(upstreams.azure)
    assert sent["path"] == "/openai/deployments/chat/chat/completions"
    assert sent["query"] == {"api-version": "2024-10-21"}
    assert sent["headers"]["api-key"] == AZURE_KEY and "authorization" not in sent["headers"]


def test_azure_embeddings(sdk: openai.OpenAI, upstreams: Upstreams) -> None:
    result = sdk.embeddings.create(model="az-embed", input=["a", "b"])
    assert len(result.data) == 2 and result.model == "az-embed"
    assert last_body(upstreams.azure)["path"] == "/openai/deployments/embed/embeddings"


def test_azure_content_filter_in_openai_shape(http: httpx.Client, sdk: openai.OpenAI) -> None:
    response = http.post(
        "/v1/chat/completions",
        json={
            "model": "az-chat",
            "messages": [{"role": "user", "content": f"tell me {BLOCKED_TERM}"}],
        },
    )
    body = assert_error(response, 400, "content_filter")
    assert body["error"]["param"] == "prompt" and BLOCKED_TERM not in response.text
    assert "innererror" not in response.text
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(
            model="az-chat", messages=[{"role": "user", "content": BLOCKED_TERM}]
        )


def test_azure_missing_deployment_passes_through(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"model": "az-missing", "messages": USER})
    assert_error(response, 404, "DeploymentNotFound")


# ---------------------------------------------------------------- Anthropic


def test_anthropic_chat_maps_both_ways(sdk: openai.OpenAI, upstreams: Upstreams) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="claude",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": "no jokes"},
            *USER,
        ],
        stop=["there"],
        temperature=1.7,
        user="u-1",
    )
    openapi_schema.validate("CreateChatCompletionResponse", raw.http_response.json())
    answer = raw.parse()
    assert answer.choices[0].message.content == "echo: hello "
    assert answer.choices[0].finish_reason == "stop" and answer.model == "claude"
    sent = last_body(upstreams.anthropic)
    assert sent["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["body"]["system"] == "be brief\n\nno jokes"
    assert sent["body"]["max_tokens"] == 256 and sent["body"]["temperature"] == 1.0
    assert sent["body"]["stop_sequences"] == ["there"]
    assert sent["body"]["metadata"] == {"user_id": "u-1"}


def test_anthropic_tool_round_trip(sdk: openai.OpenAI, upstreams: Upstreams) -> None:
    first = sdk.chat.completions.create(
        model="claude",
        messages=USER,
        tools=[WEATHER_TOOL],
        tool_choice="required",
        parallel_tool_calls=False,
    )
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.function.arguments) == {"query": "hello there"}
    sent = last_body(upstreams.anthropic)["body"]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert sent["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
    second = sdk.chat.completions.create(
        model="claude",
        tools=[WEATHER_TOOL],
        messages=[
            *USER,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
            {"role": "user", "content": "thanks"},
        ],
    )
    assert second.choices[0].message.content == "echo: thanks"
    turns = last_body(upstreams.anthropic)["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"][0]["type"] == "tool_use"
    assert turns[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": "sunny",
    }


@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "usage"])
def test_anthropic_stream(http: httpx.Client, include_usage: bool) -> None:
    body = {"model": "claude", "messages": USER, "stream": True, "tools": [WEATHER_TOOL]}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    chunks, _, done = stream_events(http, "/v1/chat/completions", body)
    validate_chat_chunks(chunks)
    assert done and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("tool_calls")
    ]
    assert calls[0]["function"]["name"] == "get_weather" and calls[0]["id"].startswith("toolu_")
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {
        "query": "hello there"
    }
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    usage = [c for c in chunks if c.get("usage")]
    assert len(usage) == int(include_usage)
    if include_usage:
        assert usage[0]["choices"] == [] and usage[0]["usage"]["completion_tokens"] > 0


def test_anthropic_prompt_cache_usage(http: httpx.Client) -> None:
    long_doc = " ".join(f"w{i}" for i in range(300))
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": long_doc, "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "summarise"},
            ],
        }
    ]
    usages = []
    for _ in range(2):
        response = http.post("/v1/chat/completions", json={"model": "claude", "messages": messages})
        assert response.status_code == 200, response.text
        usages.append(response.json()["usage"])
    assert usages[0]["prompt_tokens_details"]["cached_tokens"] == 0
    assert usages[1]["prompt_tokens_details"]["cached_tokens"] == 300
    assert usages[0]["prompt_tokens"] == usages[1]["prompt_tokens"] > 300


def test_anthropic_keeps_its_model_name_when_not_aliased(sdk: openai.OpenAI) -> None:
    answer = sdk.chat.completions.create(model="claude-sonnet-4-20250514", messages=USER)
    assert answer.model == "claude-sonnet-4-20250514"


def test_anthropic_errors(http: httpx.Client) -> None:
    response = http.post(
        "/v1/chat/completions", json={"model": "claude-overloaded", "messages": USER}
    )
    assert_error(response, 503, "service_unavailable")
    response = http.post("/v1/chat/completions", json={"model": "claude", "messages": USER, "n": 2})
    assert_error(response, 400, "unsupported_parameter")
    response = http.post("/v1/embeddings", json={"model": "claude", "input": "x"})
    assert_error(response, 400, "unsupported_endpoint")


def test_anthropic_thinking_through_the_gateway(
    sdk: openai.OpenAI, http: httpx.Client, upstreams: Upstreams
) -> None:
    """reasoning_effort in, reasoning_content and signed thinking_blocks out (plain and
    streamed), and the signature back upstream on the next turn of a tool loop."""
    first = sdk.chat.completions.create(
        model="claude", messages=USER, tools=[WEATHER_TOOL], reasoning_effort="low"
    )
    message = first.choices[0].message.model_dump(exclude_none=True)
    assert message["reasoning_content"] == "The user wrote: hello there"
    assert message["thinking_blocks"][0]["signature"]
    second = sdk.chat.completions.create(
        model="claude",
        tools=[WEATHER_TOOL],
        reasoning_effort="low",
        messages=[
            *USER,
            message,
            {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": "sunny"},
        ],
    )
    assert second.choices[0].message.content == "echo: sunny"
    sent = last_body(upstreams.anthropic)["body"]
    assert sent["messages"][1]["content"][0] == message["thinking_blocks"][0]
    body = {"model": "claude", "messages": USER, "stream": True, "reasoning_effort": "low"}
    chunks, _, done = stream_events(http, "/v1/chat/completions", body)
    validate_chat_chunks(chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert done and "".join(d.get("reasoning_content") or "" for d in deltas) == (
        "The user wrote: hello there"
    )
    assert any(d.get("thinking_blocks") for d in deltas)


# ---------------------------------------------------------------- trtllm-serve


def test_trtllm_strips_unknown_fields_and_repairs_body(
    sdk: openai.OpenAI, upstreams: Upstreams
) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="llama",
        messages=[{"role": "developer", "content": "x"}, *USER],
        store=True,
        metadata={"a": "b"},
        service_tier="auto",
        prompt_cache_key="k",
        max_completion_tokens=50,
        extra_body={"top_k": 5, "verbosity": "low"},
    )
    document = raw.http_response.json()
    openapi_schema.validate("CreateChatCompletionResponse", document)
    assert document["choices"][0]["message"]["refusal"] is None
    for key in ("stop_reason", "disaggregated_params", "avg_decoded_tokens_per_iter"):
        assert key not in document["choices"][0]
    assert "prompt_token_ids" not in document
    sent = last_body(upstreams.engine)["body"]
    assert sent["top_k"] == 5 and sent["max_tokens"] == 50
    for dropped in (
        "store",
        "metadata",
        "service_tier",
        "prompt_cache_key",
        "verbosity",
        "max_completion_tokens",
    ):
        assert dropped not in sent
    assert sent["messages"][0]["role"] == "system"


@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "usage"])
def test_trtllm_stream_quirks_hidden(
    http: httpx.Client, upstreams: Upstreams, include_usage: bool
) -> None:
    body = {"model": "llama", "messages": USER, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    chunks, _, done = stream_events(http, "/v1/chat/completions", body)
    validate_chat_chunks(chunks)
    content = [c for c in chunks if c["choices"]]
    assert done and content[0]["choices"][0]["delta"] == {"role": "assistant", "content": "echo:"}
    assert all("finish_reason" in c["choices"][0] for c in content)
    assert [c for c in chunks if c.get("usage")] == ([chunks[-1]] if include_usage else [])
    sent = last_body(upstreams.engine)["body"]
    assert sent["stream_options"] == {"include_usage": True}  # asked for, whatever the client


def test_trtllm_completions_and_errors(sdk: openai.OpenAI, http: httpx.Client) -> None:
    completion = sdk.completions.create(model="llama", prompt="once upon", max_tokens=5)
    assert completion.choices[0].text == " echo" and completion.usage.prompt_tokens == 2
    response = http.post(
        "/v1/chat/completions", json={"model": "llama", "messages": USER, "tool_choice": "required"}
    )
    body = assert_error(response, 400)
    assert "tools" in body["error"]["message"] and body["error"]["type"] == "invalid_request_error"


def test_trtllm_engine_is_ready_only_once_loaded(
    gw: GatewayProcess, http: httpx.Client, upstreams: Upstreams
) -> None:
    ready = httpx.get(gw.url + "/health/ready").json()
    assert "late" in ready["unready_models"]  # port closed: still loading
    response = http.post("/v1/chat/completions", json={"model": "late", "messages": USER})
    assert_error(response, 502, "upstream_unreachable")
    upstreams.late.start(load_seconds=0.3)
    deadline = time.monotonic() + 10
    while "late" in httpx.get(gw.url + "/health/ready").json()["unready_models"]:
        assert time.monotonic() < deadline, "gateway never noticed the engine came up"
        time.sleep(0.1)
    response = http.post("/v1/chat/completions", json={"model": "late", "messages": USER})
    assert response.status_code == 200, response.text
    upstreams.late.engine.healthy = False  # /health answers 503: marked down again
    deadline = time.monotonic() + 10
    while "late" not in httpx.get(gw.url + "/health/ready").json()["unready_models"]:
        assert time.monotonic() < deadline, "a 503 from /health did not mark the engine down"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("snippet", "path"),
    [
        ("routing: {strategy: fastest}", "models.m.routing.strategy"),
        ("routing: {breaker: {failures: 0}}", "models.m.routing.breaker.failures"),
        ("routing: {retry: {tries: 2}}", "models.m.routing.retry.tries"),
        ("routing: {engine: {on_saturation: drop}}", "models.m.routing.engine.on_saturation"),
    ],
)
def test_routing_config_errors_name_the_field(snippet: str, path: str) -> None:
    from gateway.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config(f"""
providers: {{p: {{kind: trtllm, base_url: "http://127.0.0.1:1"}}}}
models: {{m: {{targets: [{{provider: p, model: x}}], {snippet}}}}}
""")
    assert caught.value.path == path


# ---------------------------------------------------------------- other client surfaces


@pytest.mark.parametrize("model", ["az-chat", "claude", "llama"])
def test_responses_and_messages_on_every_provider(sdk: openai.OpenAI, model: str) -> None:
    """/v1/responses and /v1/messages translated onto Azure, Anthropic and trtllm-serve."""
    from tests.openapi_schema import validate

    raw = sdk.responses.with_raw_response.create(model=model, input="hello", instructions="s")
    validate("Response", raw.http_response.json())
    assert raw.parse().output_text
    events = list(sdk.responses.create(model=model, input="hello", stream=True))
    assert events[-1].type in ("response.completed", "response.incomplete")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(
        base_url=str(sdk.base_url).removesuffix("/v1/"), api_key=TEAM_KEY, max_retries=0
    )
    message = client.messages.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    )
    assert message.content and message.content[0].type == "text"
    with client.messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        assert "".join(stream.text_stream)
