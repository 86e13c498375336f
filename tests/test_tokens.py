"""Token counting: our tiktoken counts against prompt token counts OpenAI's API reported,
and the tokenizer files loading offline from the package.

Known counts, with sources:
- COOKBOOK_*: OpenAI's cookbook "How to count tokens with tiktoken" (sections 6 and 7),
  where each function count is printed next to ``response.usage.prompt_tokens`` from
  the API: 129 / 124 for the chat example (names included), 105 / 101 with tools.
- IMAGE_*: openai-messages-token-helper's test table (verified against the API by its
  ``verify_openai.py``): a text part plus a 1x1 PNG, detail auto / low.
- The single messages: the same table.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.accounting import encodings
from gateway.accounting.images import data_url_size
from gateway.accounting.tokens import count_request_tokens
from gateway.wire.types import Endpoint

COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that "
        "translates corporate jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean "
        "for the client deliverable.",
    },
]
COOKBOOK_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]
COOKBOOK_TOOL_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful assistant that can answer to questions about the weather.",
    },
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
    "z/C/HgAGgwJ/lK3Q6wAAAABJRU5ErkJggg=="
)


def _image_message(detail: str) -> list[dict[str, object]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe this picture:"},
                {"type": "image_url", "image_url": {"url": PIXEL, "detail": detail}},
            ],
        }
    ]


CASES = [
    # (id, model, body, prompt tokens reported by OpenAI)
    ("cookbook-names-gpt-3.5-turbo", "gpt-3.5-turbo", {"messages": COOKBOOK_MESSAGES}, 129),
    ("cookbook-names-gpt-4", "gpt-4", {"messages": COOKBOOK_MESSAGES}, 129),
    ("cookbook-names-gpt-4o", "gpt-4o", {"messages": COOKBOOK_MESSAGES}, 124),
    ("cookbook-names-gpt-4o-mini", "gpt-4o-mini", {"messages": COOKBOOK_MESSAGES}, 124),
    (
        "cookbook-tools-gpt-3.5-turbo",
        "gpt-3.5-turbo",
        {"messages": COOKBOOK_TOOL_MESSAGES, "tools": COOKBOOK_TOOLS},
        105,
    ),
    (
        "cookbook-tools-gpt-4",
        "gpt-4",
        {"messages": COOKBOOK_TOOL_MESSAGES, "tools": COOKBOOK_TOOLS},
        105,
    ),
    (
        "cookbook-tools-gpt-4o",
        "gpt-4o",
        {"messages": COOKBOOK_TOOL_MESSAGES, "tools": COOKBOOK_TOOLS},
        101,
    ),
    (
        "cookbook-tools-gpt-4o-mini",
        "gpt-4o-mini",
        {"messages": COOKBOOK_TOOL_MESSAGES, "tools": COOKBOOK_TOOLS},
        101,
    ),
    ("multipart-image-auto-gpt-4o", "gpt-4o", {"messages": _image_message("auto")}, 266),
    ("multipart-image-low-gpt-4o", "gpt-4o", {"messages": _image_message("low")}, 96),
    ("multipart-image-auto-gpt-4o-mini", "gpt-4o-mini", {"messages": _image_message("auto")}, 8511),
    ("multipart-image-low-gpt-4o-mini", "gpt-4o-mini", {"messages": _image_message("low")}, 2844),
    ("user-gpt-4", "gpt-4", {"messages": [{"role": "user", "content": "Hello, how are you?"}]}, 13),
    ("system-name-gpt-4o", "gpt-4o", {"messages": [COOKBOOK_MESSAGES[1]]}, 20),
    ("system-unicode-gpt-4", "gpt-4", {"messages": [{"role": "system", "content": "á"}]}, 8),
]


@pytest.mark.parametrize(
    ("model", "body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_counts_match_openai(model: str, body: dict[str, object], expected: int) -> None:
    assert count_request_tokens(Endpoint.CHAT, body, model) == expected


def test_text_parts_count_like_string_content() -> None:
    split = [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in COOKBOOK_MESSAGES]
    assert count_request_tokens(Endpoint.CHAT, {"messages": split}, "gpt-4o") == 124


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        (Endpoint.COMPLETIONS, {"prompt": "tiktoken is great!"}, 6),
        (Endpoint.COMPLETIONS, {"prompt": ["tiktoken is great!", "tiktoken is great!"]}, 12),
        (Endpoint.COMPLETIONS, {"prompt": [1, 2, 3, 4]}, 4),
        (Endpoint.EMBEDDINGS, {"input": [[1, 2], [3, 4, 5]]}, 5),
    ],
    ids=["prompt", "prompt-list", "token-ids", "embedding-token-ids"],
)
def test_prompts_and_inputs(endpoint: Endpoint, body: dict[str, object], expected: int) -> None:
    # cookbook section 3: "tiktoken is great!" is 6 tokens in cl100k_base.
    assert count_request_tokens(endpoint, body, "text-embedding-3-small") == expected


def test_special_token_text_is_counted_as_text() -> None:
    body = {"messages": [{"role": "user", "content": "<|endoftext|>"}]}
    assert count_request_tokens(Endpoint.CHAT, body, "gpt-4o") > 8


def test_unknown_models_use_the_default_encoding() -> None:
    assert encodings.name_for_model("smollm2-135m-instruct") == "o200k_base"
    assert encodings.name_for_model("openai/gpt-4") == "cl100k_base"


@pytest.mark.parametrize(
    ("url", "size"),
    [
        (PIXEL, (1, 1)),
        ("https://example.com/cat.png", None),
        (
            "data:image/gif;base64,R0lGODlhAwAFAIAAAP///wAAACH5BAEAAAAALAAAAAADAAUAAAIEjI+pWAA7",
            (3, 5),
        ),
    ],
    ids=["png", "remote", "gif"],
)
def test_image_sizes_from_data_urls(url: str, size: tuple[int, int] | None) -> None:
    assert data_url_size(url) == size


def test_packaged_files_match_their_sha256() -> None:
    for name, (file_name, sha256) in encodings.FILES.items():
        data = (encodings.DATA_DIR / file_name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256, name


def test_encodings_load_offline_from_the_package(tmp_path: Path) -> None:
    """A fresh interpreter with no network and no tiktoken cache of its own: counting
    works from the packaged files alone (a download attempt would fail loudly)."""
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network disabled')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from gateway.accounting.tokens import count_request_tokens\n"
        "from gateway.wire.types import Endpoint\n"
        "body = {'messages': [{'role': 'user', 'content': 'Hello, how are you?'}]}\n"
        "print(count_request_tokens(Endpoint.CHAT, body, 'gpt-4'),"
        " count_request_tokens(Endpoint.CHAT, body, 'gpt-4o'))\n"
    )
    env = {k: v for k, v in os.environ.items() if "TIKTOKEN" not in k and "DATA_GYM" not in k}
    env["TMPDIR"] = str(tmp_path)  # tiktoken's default cache dir would be under here
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["13", "13"]
    assert not (tmp_path / "data-gym-cache").exists()


def test_a_corrupt_file_is_refused_before_tiktoken_sees_it(tmp_path: Path) -> None:
    file_name, _ = encodings.FILES["p50k_base"]
    (tmp_path / file_name).write_bytes(b"not the real ranks\n")
    with pytest.raises(encodings.EncodingFileError, match="corrupt"):
        encodings.verify("p50k_base", tmp_path)
    with pytest.raises(encodings.EncodingFileError, match="missing"):
        encodings.verify("o200k_base", tmp_path)


@pytest.mark.parametrize(
    ("extra", "counts"),
    [
        ("", False),
        ("    limits: {rpm: 10}\n", False),
        ("    limits: {tpm: 1000}\n", True),
        ("    budget_usd: 5\n", True),
        ("    model_limits: {m: {tpm: 50}}\n", True),
    ],
)
def test_tokenizer_loads_at_start_when_every_prompt_is_counted(extra: str, counts: bool) -> None:
    """Budgets and token limits count every prompt: the encoding is loaded at start-up
    (in a thread) instead of by the first request; without them it never loads."""
    from gateway.accounting.service import counts_every_prompt
    from gateway.config import parse_config

    text = (
        "providers:\n  up: {kind: openai-compatible, base_url: 'http://127.0.0.1:9/v1'}\n"
        "models:\n  m: {targets: [{provider: up, model: gpt-4o-mini}]}\n"
        "teams:\n  t:\n    models: ['*']\n" + extra
    )
    assert counts_every_prompt(parse_config(text)) is counts


@pytest.mark.parametrize("limit", ["budget_usd: 5", "limits: {tpm: 1000}"])
async def test_start_up_loads_the_tokenizer_of_every_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    """With a budget or a token limit, the worker's start-up (``Gateway.running``) loads
    the encoding of each target model in a thread: no request waits ~0.3 s for it."""
    from gateway.app import build_gateway
    from gateway.config import parse_config

    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    # A name nothing else in the suite counts with (one per case).
    model = f"gpt-4o-preload-probe-{limit.split(':')[0]}"
    text = (
        "providers:\n  up: {kind: openai-compatible, base_url: 'http://127.0.0.1:9/v1'}\n"
        f"models:\n  m: {{targets: [{{provider: up, model: {model}}}], "
        "price: {input: 1, output: 1}}\n"
        f"teams:\n  t: {{models: ['*'], {limit}}}\n"
        "keys:\n  - {team: t, key: sk-preload-test}\n"
    )
    gateway = build_gateway(parse_config(text, tmp_path / "gateway.yaml"))
    assert not encodings.ready(model)
    async with gateway.running():
        for _ in range(200):
            if encodings.ready(model):
                break
            await asyncio.sleep(0.01)
        assert encodings.ready(model)
