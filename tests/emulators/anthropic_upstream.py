"""An Anthropic Messages API emulator (https://docs.anthropic.com/en/api/messages).

Checks what the real API checks and the gateway could get wrong: the ``x-api-key`` and
``anthropic-version`` headers; ``max_tokens`` required; only ``user``/``assistant``
roles (``system`` is a top-level field); no unknown top-level fields; ``temperature``
≤ 1; every ``tool_use`` answered by a ``tool_result`` in the very next user turn, and
no ``tool_result`` without its ``tool_use``; ``tool_choice`` only with ``tools``; no
empty content. Errors are ``{"type": "error", "error": {"type", "message"}}``.

Answers: ``echo: <last user text>`` as a text block, or, when tools are offered (and
``tool_choice`` is not ``none``) and the last user turn is not a tool result, a
``tool_use`` of the chosen tool with input ``{"query": <text>}``. ``stop_sequences`` and
``max_tokens`` cut the text (``stop_sequence`` / ``max_tokens`` stop reasons). Usage:
input tokens = words of system and messages + 3 per message; blocks marked with
``cache_control`` make a cacheable prefix: the first time it is written
(``cache_creation_input_tokens``), afterwards read (``cache_read_input_tokens``).

Streams are the real event sequence: ``message_start``, ``content_block_start``,
``ping``, ``content_block_delta`` (``text_delta`` / ``input_json_delta``, the latter
starting with an empty ``partial_json``), ``content_block_stop``, ``message_delta``
(stop reason and output tokens), ``message_stop``; each ``event: <type>`` + ``data:``.

Server tools: offered a ``web_search_*`` tool (and no client tool), the model "runs" it:
a ``server_tool_use`` block, its ``web_search_tool_result`` (sent whole in a stream),
then the text; ``usage.server_tool_use.web_search_requests`` is 1.

Extended thinking (``thinking`` enabled or adaptive): a signed ``thinking`` block
before the answer (streamed as ``thinking_delta`` + ``signature_delta``), its tokens in
``usage.output_tokens_details.thinking_tokens``; the API's thinking rules are checked
(see ``_thinking_problem``), signatures sent back included. ``output_config.format``
(native structured output) answers a JSON object with the schema's properties.
``claude-refuses`` stops with ``refusal`` and ``stop_details``.

Per model: ``claude-opus-4-7*`` and ``claude-sonnet-5*`` refuse ``temperature``;
those and the 4.5+ models refuse ``temperature`` with ``top_p``; the models in
``MAX_OUTPUT`` refuse a larger ``max_tokens`` (400).

Models: ``claude-overloaded`` (529), ``claude-rate-limited`` (429, ``retry-after: 1``),
``claude-error-500``, ``claude-stream-overloaded`` (an ``error`` event after
``message_start``, before any content), ``claude-stream-cut`` (connection dropped after
two deltas); names not starting with ``claude-`` are 404 ``not_found_error``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import deque
from typing import Any

from tests.emulators.asgi_server import (
    Receive,
    Scope,
    Send,
    ThreadedServer,
    drop_connection,
    end_stream,
    header_map,
    read_body,
    send_chunk,
    send_json,
    start_stream,
)
from tests.emulators.openai_bodies import tokenize

Json = dict[str, Any]
FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        "output_config",
        "service_tier",
        "container",
        "mcp_servers",
        "context_management",
    }
)
MODELS = ("claude-sonnet-4-20250514", "claude-3-5-haiku-20241022")


def _error(kind: str, message: str) -> Json:
    return {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_" + secrets.token_hex(12),
    }


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else ():
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(_text(block.get("content")))
    return " ".join(parts)


# Output ceilings (Anthropic's models overview): a larger max_tokens is a 400.
MAX_OUTPUT = {
    "claude-sonnet-4-20250514": 64000,
    "claude-3-5-haiku-20241022": 8192,
    "claude-opus-4-7": 128000,
    "claude-sonnet-4-5-20250929": 64000,
}


def _model_quirks(model: str, body: Json) -> str | None:
    """Per-model refusals reported against the real API: ``temperature`` deprecated on
    Opus 4.7+ / Sonnet 5; ``temperature`` with ``top_p`` refused from Claude 4.5;
    ``max_tokens`` above the model's output ceiling."""
    ceiling = MAX_OUTPUT.get(model)
    if ceiling is not None and body["max_tokens"] > ceiling:
        return (
            f"max_tokens: {body['max_tokens']} > {ceiling}, which is the maximum allowed "
            f"number of output tokens for {model}"
        )
    fixed = model.startswith(("claude-opus-4-7", "claude-sonnet-5"))
    if fixed and "temperature" in body:
        return "`temperature` is deprecated for this model."
    one_of = fixed or any(f"-4-{minor}" in model for minor in range(5, 10))
    if one_of and "temperature" in body and "top_p" in body:
        return "`temperature` and `top_p` cannot both be specified for this model."
    return None


def sign(thinking: str) -> str:
    """The emulator's thinking signature: opaque to clients, checked on the way back."""
    return "sig_" + hashlib.sha256(thinking.encode()).hexdigest()[:32]


def _thinking_on(body: Json) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _thinking_problem(body: Json) -> str | None:
    """Extended thinking as the API checks it: budget ≥ 1024 and < ``max_tokens``;
    ``adaptive`` only from the 4.6 models, budgets refused from Opus 4.7 / Sonnet 5; no
    thinking on Claude 3.5; ``temperature`` ≠ 1, ``top_k`` and forced tool use refused
    while thinking; ``output_config`` is ``effort`` and ``format`` only; every thinking
    block sent back must carry its signature, and with thinking on the assistant turn
    answered by tool results must start with its thinking block."""
    model = str(body.get("model"))
    thinking = body.get("thinking")
    adaptive_models = ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-sonnet-5")
    config = body.get("output_config")
    if config is not None:
        if not isinstance(config, dict) or set(config) - {"effort", "format"}:
            return "output_config: Extra inputs are not permitted"
        if config.get("effort") not in (None, "low", "medium", "high", "max"):
            return "output_config.effort: Input should be 'low', 'medium', 'high' or 'max'"
        fmt = config.get("format")
        if fmt is not None and (fmt.get("type") != "json_schema" or "schema" not in fmt):
            return "output_config.format: a json_schema format with a schema is required"
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if model.startswith("claude-3-5"):
            return "thinking: extended thinking is not supported by this model"
        if kind == "enabled":
            if model.startswith(adaptive_models[2:]):
                return "thinking.type: 'enabled' is not supported for this model; use 'adaptive'"
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or budget < 1024:
                return (
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                )
            if budget >= body["max_tokens"]:
                return "`max_tokens` must be greater than `thinking.budget_tokens`"
        elif kind == "adaptive":
            if not model.startswith(adaptive_models):
                return "thinking.type: 'adaptive' is not supported for this model"
        elif kind != "disabled":
            return "thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'"
    on = _thinking_on(body)
    if on and body.get("temperature", 1) != 1:
        return "`temperature` may only be set to 1 when thinking is enabled."
    if on and "top_k" in body:
        return "`top_k` is not supported when thinking is enabled."
    if on and (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        for j, block in enumerate(
            message.get("content") if isinstance(message.get("content"), list) else ()
        ):
            if block.get("type") == "thinking" and block.get("signature") != sign(
                block.get("thinking", "")
            ):
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
    last = messages[-1] if messages else {}
    answering = isinstance(last.get("content"), list) and any(
        b.get("type") == "tool_result" for b in last["content"]
    )
    if on and answering and len(messages) >= 2:
        first = (messages[-2].get("content") or [{}])[0]
        if first.get("type") not in ("thinking", "redacted_thinking"):
            return (
                f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
                "`redacted_thinking`, but found `" + str(first.get("type")) + "`. When "
                "`thinking` is enabled, a final `assistant` message must start with a "
                "thinking block (preceeding the lastmost set of `tool_use` and "
                "`tool_result` blocks)."
            )
    return None


class AnthropicEmulator:
    def __init__(self, *, api_key: str) -> None:
        self.api_key = api_key
        self.requests: deque[Json] = deque(maxlen=200)
        self._cached_prefixes: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        if raw is None:
            return
        headers, path, method = header_map(scope), scope["path"], scope["method"]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
        if headers.get("x-api-key") != self.api_key:
            await send_json(send, 401, _error("authentication_error", "invalid x-api-key"))
            return
        if not headers.get("anthropic-version"):
            await send_json(
                send, 400, _error("invalid_request_error", "anthropic-version: header is required")
            )
            return
        if (method, path) == ("GET", "/v1/models"):
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-05-14T00:00:00Z"}
                for m in MODELS
            ]
            await send_json(
                send,
                200,
                {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]},
            )
            return
        if (method, path) != ("POST", "/v1/messages"):
            await send_json(send, 404, _error("not_found_error", "Not found"))
            return
        if not isinstance(body, dict):
            await send_json(send, 400, _error("invalid_request_error", "invalid JSON body"))
            return
        problem = self._validate(body)
        if problem is not None:
            await send_json(send, 400, _error("invalid_request_error", problem))
            return
        await self._answer(body, send)

    def _validate(self, body: Json) -> str | None:
        for key in body:
            if key not in FIELDS:
                return f"{key}: Extra inputs are not permitted"
        for key in ("model", "messages", "max_tokens"):
            if key not in body:
                return f"{key}: Field required"
        temperature = body.get("temperature")
        if isinstance(temperature, int | float) and temperature > 1:
            return "temperature: Input should be less than or equal to 1"
        problem = _model_quirks(str(body.get("model")), body) or _thinking_problem(body)
        if problem is not None:
            return problem
        if "tool_choice" in body and not body.get("tools"):
            return "tool_choice: tool_choice may only be specified while providing tools"
        messages = body["messages"]
        if not messages:
            return "messages: at least one message is required"
        pending: set[str] = set()
        for i, message in enumerate(messages):
            role = message.get("role")
            if role not in ("user", "assistant"):
                return f"messages.{i}.role: Input should be 'user' or 'assistant'"
            content = message.get("content")
            if not content and not (i == len(messages) - 1 and role == "assistant"):
                return (
                    f"messages.{i}: all messages must have non-empty content except for "
                    "the optional final assistant message"
                )
            blocks = content if isinstance(content, list) else []
            results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if pending and (role != "user" or not pending <= results):
                missing = ", ".join(sorted(pending - results))
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {missing}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
            if results - pending:
                return (
                    f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` "
                    "blocks. Each `tool_result` block must have a corresponding `tool_use` "
                    "block in the previous message."
                )
            pending = {b["id"] for b in blocks if b.get("type") == "tool_use"}
        return None

    def _usage(self, body: Json) -> Json:
        """Prompt tokens, split by the prompt cache: everything up to the last block with
        ``cache_control`` is the cacheable prefix."""
        pieces: list[tuple[str, bool]] = []
        system = body.get("system")
        for block in (
            [{"type": "text", "text": system}] if isinstance(system, str) else (system or [])
        ):
            pieces.append((block.get("text", ""), "cache_control" in block))
        for message in body["messages"]:
            content = message["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            pieces.append(("", False))  # a turn boundary: no tokens, but part of the key
            for block in blocks:
                pieces.append(
                    (_text([block]) or json.dumps(block.get("input")), "cache_control" in block)
                )
        marks = [i for i, (_, marked) in enumerate(pieces) if marked]
        total = sum(len(t.split()) for t, _ in pieces) + 2 * len(body["messages"])
        usage = {
            "input_tokens": total,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        if marks:
            prefix = pieces[: marks[-1] + 1]
            size = sum(len(t.split()) for t, _ in prefix)
            key = hashlib.sha256(json.dumps(prefix).encode()).hexdigest()
            slot = (
                "cache_read_input_tokens"
                if key in self._cached_prefixes
                else ("cache_creation_input_tokens")
            )
            self._cached_prefixes.add(key)
            usage[slot] = size
            usage["input_tokens"] = total - size
        return usage

    def _plan(self, body: Json) -> tuple[list[Json], str, str | None]:
        last = body["messages"][-1]
        answering_tool = isinstance(last["content"], list) and any(
            b.get("type") == "tool_result" for b in last["content"]
        )
        users = [m for m in body["messages"] if m["role"] == "user"]
        content = users[-1]["content"] if users else ""
        if isinstance(content, list):  # the user's own words, else the tool's result
            texts = [b for b in content if b.get("type") == "text"]
            content = texts or [b for b in content if b.get("type") == "tool_result"]
        text = _text(content)
        offered = body.get("tools") or []
        tools = [t for t in offered if t.get("type") in (None, "custom")]
        choice = body.get("tool_choice") or {"type": "auto"}
        searches = [t for t in offered if str(t.get("type")).startswith("web_search_")]
        if searches and not tools and choice.get("type") != "none" and not answering_tool:
            return _searched(text), "end_turn", None
        if tools and choice.get("type") != "none" and not answering_tool:
            name = choice.get("name") if choice.get("type") == "tool" else tools[0]["name"]
            block = {
                "type": "tool_use",
                "id": "toolu_" + secrets.token_hex(12),
                "name": name,
                "input": {"query": text},
            }
            return [block], "tool_use", None
        answer = f"echo: {text}"
        reason, matched = "end_turn", None
        for stop in body.get("stop_sequences") or ():
            if stop in answer:
                answer, reason, matched = answer[: answer.find(stop)], "stop_sequence", stop
        pieces = tokenize(answer)
        if len(pieces) > body["max_tokens"]:
            answer, reason = "".join(pieces[: body["max_tokens"]]), "max_tokens"
        return [{"type": "text", "text": answer}], reason, matched

    async def _answer(self, body: Json, send: Send) -> None:
        model = body["model"]
        if not model.startswith("claude-"):
            await send_json(send, 404, _error("not_found_error", f"model: {model}"))
            return
        if model == "claude-overloaded":
            await send_json(send, 529, _error("overloaded_error", "Overloaded"))
            return
        if model == "claude-rate-limited":
            await send_json(
                send,
                429,
                _error(
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit",
                ),
                [(b"retry-after", b"1")],
            )
            return
        if model == "claude-error-500":
            await send_json(send, 500, _error("api_error", "Internal server error"))
            return
        blocks, reason, matched = self._plan(body)
        usage = self._usage(body)
        fmt = (body.get("output_config") or {}).get("format")
        if fmt is not None and reason != "tool_use":
            # Native structured output: a JSON value of the schema's shape.
            properties = fmt["schema"].get("properties") or {}
            value = {k: blocks[0]["text"] for k in properties} or {"answer": blocks[0]["text"]}
            blocks = [{"type": "text", "text": json.dumps(value)}]
        stop_details = None
        if model == "claude-refuses":
            blocks, reason = [{"type": "text", "text": ""}], "refusal"
            stop_details = {
                "type": "refusal",
                "category": "cyber",
                "explanation": "This request asks for help with malware.",
            }
        thinking_tokens = 0
        if _thinking_on(body):
            thought = "The user wrote: " + _text(body["messages"][-1]["content"])
            thinking_tokens = len(tokenize(thought))
            blocks = [
                {"type": "thinking", "thinking": thought, "signature": sign(thought)},
                *blocks,
            ]
        output = (
            sum(
                len(tokenize(b.get("text") or json.dumps(b.get("input"))))
                for b in blocks
                if b["type"] != "thinking"
            )
            + thinking_tokens
        )
        usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
        if blocks[0]["type"] == "server_tool_use":
            usage["server_tool_use"] = {"web_search_requests": 1}
        message = {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks,
            "stop_reason": reason,
            "stop_sequence": matched,
            "stop_details": stop_details,
            "usage": {**usage, "output_tokens": output, "service_tier": "standard"},
        }
        if body.get("stream"):
            await self._stream(message, send)
        else:
            await send_json(send, 200, message, [(b"request-id", b"req_emulated")])

    async def _stream(self, message: Json, send: Send) -> None:
        async def event(kind: str, data: Json) -> None:
            payload = json.dumps({"type": kind, **data}, separators=(",", ":"))
            await send_chunk(send, f"event: {kind}\ndata: {payload}\n\n".encode())

        model = message["model"]
        await start_stream(send, [(b"request-id", b"req_emulated")])
        usage = message["usage"]
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        await event("message_start", {"message": start})
        if model == "claude-stream-overloaded":
            await event("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
            await end_stream(send)
            return
        deltas = 0
        for index, block in enumerate(message["content"]):
            if block["type"] == "thinking":
                opening = {"type": "thinking", "thinking": "", "signature": ""}
            elif block["type"] == "text":
                opening = {**block, "text": ""}
            elif block["type"].endswith("_tool_result"):
                opening = block  # a server tool's result comes whole, with no deltas
            else:
                opening = {**block, "input": {}}
            await event("content_block_start", {"index": index, "content_block": opening})
            if index == 0:
                await event("ping", {})
            if block["type"] == "thinking":
                pieces = [
                    *(
                        {"type": "thinking_delta", "thinking": t}
                        for t in tokenize(block["thinking"])
                    ),
                    {"type": "signature_delta", "signature": block["signature"]},
                ]
            elif block["type"] == "text":
                pieces = [{"type": "text_delta", "text": t} for t in tokenize(block["text"])]
            elif block["type"].endswith("_tool_result"):
                pieces = []
            else:
                arguments = json.dumps(block["input"])
                pieces = [
                    {"type": "input_json_delta", "partial_json": p}
                    for p in ["", *(arguments[i : i + 7] for i in range(0, len(arguments), 7))]
                ]
            for piece in pieces:
                if model == "claude-stream-cut" and deltas == 2:
                    drop_connection(send)
                    return
                await event("content_block_delta", {"index": index, "delta": piece})
                deltas += 1
            await event("content_block_stop", {"index": index})
        await event(
            "message_delta",
            {
                "delta": {
                    "stop_reason": message["stop_reason"],
                    "stop_sequence": message["stop_sequence"],
                    "stop_details": message["stop_details"],
                },
                "usage": {
                    "output_tokens": usage["output_tokens"],
                    "output_tokens_details": usage["output_tokens_details"],
                },
            },
        )
        await event("message_stop", {})
        await end_stream(send)


def _searched(text: str) -> list[Json]:
    """What the model answers after running the ``web_search`` server tool itself."""
    call_id = "srvtoolu_" + secrets.token_hex(12)
    result = {"type": "web_search_result", "url": "https://example.com/", "title": "Example",
              "encrypted_content": "enc_" + secrets.token_hex(8), "page_age": None}  # fmt: skip
    return [
        {"type": "server_tool_use", "id": call_id, "name": "web_search", "input": {"query": text}},
        {"type": "web_search_tool_result", "tool_use_id": call_id, "content": [result]},
        {"type": "text", "text": f"echo: {text}"},
    ]


class AnthropicServer(ThreadedServer):
    def __init__(self, *, api_key: str) -> None:
        self.emulator = AnthropicEmulator(api_key=api_key)
        super().__init__(self.emulator)

    @property
    def base_url(self) -> str:
        return self.root_url
