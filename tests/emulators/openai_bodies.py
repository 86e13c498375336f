"""The documents OpenAI's API sends, built without I/O, for ``openai_upstream``.

Each request is first *planned* into ``Choice`` values (what the model "says", and
why it stopped); the JSON body and the SSE chunk sequence are both rendered from the
same plan, so a stream always concatenates to the non-streaming answer. Shapes follow
what api.openai.com sends today, key order included; ``sparse=True`` renders the
looser shape of llama.cpp/vLLM-style servers instead (see ``openai_upstream``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import json
import math
import re
import secrets
import string
import struct
import time
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from typing import Any

Json = dict[str, Any]

SYSTEM_FINGERPRINT = "fp_e0c0ffee42"
EMBEDDING_DIMENSIONS = 8
COMPLETIONS_DEFAULT_MAX_TOKENS = 16  # /v1/completions defaults max_tokens to 16
SLOW_STREAM_WORDS = 20
DONE = b"data: [DONE]\n\n"
_ALPHABET = string.ascii_letters + string.digits


# ---------------------------------------------------------------- shared helpers


def new_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _words(text: str) -> int:
    return len(text.split())


def tokenize(text: str) -> list[str]:
    """Split into word tokens that carry their leading whitespace, as BPE tokens do,
    so the pieces concatenate back to ``text`` exactly (one piece per word)."""
    pieces: list[str] = re.findall(r"\s*\S+", text)
    tail = text[sum(map(len, pieces)) :]
    if tail and pieces:
        pieces[-1] += tail
    elif tail:
        pieces.append(tail)
    return pieces


def _text_of(content: object) -> str:
    """The text of a message ``content``: a string or a list of ``text`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> Json:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _mask_key(key: str) -> str:
    """OpenAI echoes part of a rejected key; a gateway must scrub this from errors."""
    return f"{key[:5]}***{key[-2:]}" if len(key) >= 8 else "***"


def bad_key_error(presented: str) -> Json:
    return error_body(
        f"Incorrect API key provided: {_mask_key(presented)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        code="invalid_api_key",
    )


NO_KEY_ERROR = error_body(
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
    "(with blank username) if you're accessing the API from your browser and are prompted for "
    "a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
    "invalid_request_error",
)
BAD_JSON_ERROR = error_body(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please contact "
    "us through our help center at help.openai.com.)",
    "invalid_request_error",
)


def scenario_error(status: int, model: str, presented_key: str) -> Json:
    """The body OpenAI sends for ``status``; unknown statuses get a generic one."""
    if status == 401:
        return bad_key_error(presented_key or "sk-emulated-key")
    canned: dict[int, tuple[str, str, str | None, str | None]] = {
        400: (
            "Invalid value for 'temperature': expected a number between 0 and 2, "
            "but got 7 instead.",
            "invalid_request_error",
            "temperature",
            "invalid_value",
        ),
        403: (
            "Project `proj_emulator` does not have access to model `{model}`",
            "invalid_request_error",
            None,
            "model_not_found",
        ),
        404: (
            "The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            None,
            "model_not_found",
        ),
        429: (
            "Rate limit reached for {model} in organization org-emulator on requests per min "
            "(RPM): Limit 3, Used 3, Requested 1. Please try again in 1s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            "requests",
            None,
            "rate_limit_exceeded",
        ),
        500: (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
        503: ("The server is overloaded or not ready yet.", "server_error", None, None),
    }
    fallback_type = "server_error" if status >= 500 else "invalid_request_error"
    message, type_, param, code = canned.get(
        status, (f"Emulated upstream error {status}.", fallback_type, None, None)
    )
    return error_body(message.format(model=model), type_, param, code)


QUOTA_ERROR = error_body(
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors.",
    "insufficient_quota",
    code="insufficient_quota",
)


def error_status(model: str) -> int | None:
    """``emu-error-503`` -> 503; ``None`` when the name is not an error scenario."""
    prefix, _, digits = model.rpartition("-")
    if prefix != "emu-error" or not digits.isdigit():
        return None
    status = int(digits)
    try:
        HTTPStatus(status)  # uvicorn needs a reason phrase for the status line
    except ValueError:
        return None
    return status if 400 <= status <= 599 else None


def _usage(prompt: int, completion: int, *, details: bool) -> Json:
    usage: Json = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if details:
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        usage["completion_tokens_details"] = {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    return usage


# Models whose answers carry these token logprobs (confidence-gate tests): about 0.10
# and 0.99 per token. Other models' logprobs are synthesised by ``_logprob``.
CONFIDENCE_LOGPROBS = {"emu-logprobs-low": -2.3, "emu-logprobs-high": -0.01}


def with_confidence(document: Json, logprob: float) -> Json:
    """Rewrite every chat token logprob (and its first alternative) in a completion
    body or a stream chunk to ``logprob``."""
    for choice in document.get("choices") or ():
        block = choice.get("logprobs")
        if not isinstance(block, dict):
            continue
        for token in block.get("content") or ():
            token["logprob"] = logprob
            for alternative in token.get("top_logprobs") or ()[:1]:
                alternative["logprob"] = logprob
    return document


def _logprob(position: int) -> float:
    return -round(0.05 * (position % 7 + 1), 4)


def _token_logprob(token: str, position: int, top: int) -> Json:
    value = _logprob(position)
    alternatives = [(token, value)] + [(f"{token}~{k}", value - k) for k in range(1, top)]
    return {
        "token": token,
        "logprob": value,
        "bytes": list(token.encode()),
        "top_logprobs": [
            {"token": t, "logprob": v, "bytes": list(t.encode())} for t, v in alternatives[:top]
        ],
    }


def _limit(content: str, stop: object, max_tokens: object) -> tuple[str, str]:
    """Apply ``stop`` then a token budget; return the text and its finish_reason."""
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    cuts = [content.find(s) for s in stops if isinstance(s, str) and s and s in content]
    if cuts:
        content = content[: min(cuts)]
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0:
        pieces = tokenize(content)
        if len(pieces) > max_tokens:
            return "".join(pieces[:max_tokens]), "length"
    return content, "stop"


def _choice_count(body: Json) -> int:
    n = body.get("n")
    return min(max(n, 1), 128) if isinstance(n, int) and not isinstance(n, bool) else 1


def _include_usage(body: Json) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _top_logprobs(body: Json) -> int:
    top = body.get("top_logprobs")
    return top if isinstance(top, int) and not isinstance(top, bool) and top > 0 else 0


def sse(event: Json) -> bytes:
    return (
        b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    )


# ---------------------------------------------------------------- chat completions


@dataclasses.dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclasses.dataclass(frozen=True)
class Choice:
    """One planned answer; both the JSON body and the stream are rendered from it."""

    index: int
    content: str | None
    finish_reason: str
    tool_call: ToolCall | None = None

    @property
    def completion_tokens(self) -> int:
        return _words(self.tool_call.arguments if self.tool_call else self.content or "")


def _as_dict(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def _chosen_tool(body: Json) -> str | None:
    """The tool to call: the one ``tool_choice`` names, else the first one."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools or choice == "none":
        return None
    named = _as_dict(_as_dict(choice).get("function")).get("name")
    if isinstance(named, str):
        return named
    first = _as_dict(tools[0])
    name = _as_dict(first.get("function")).get("name") or first.get("name")
    return name if isinstance(name, str) else "tool"


def plan_chat(body: Json, *, slow: bool = False) -> list[Choice]:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    last = messages[-1] if messages else {}
    answering_tool = last.get("role") == "tool"
    users = [m for m in messages if m.get("role") == "user"]
    text = _text_of(
        last.get("content") if answering_tool else users[-1].get("content") if users else ""
    )
    tool = None if answering_tool else _chosen_tool(body)
    format_type = _as_dict(body.get("response_format")).get("type")
    budget = body.get("max_completion_tokens")
    budget = body.get("max_tokens") if budget is None else budget
    choices = []
    for index in range(_choice_count(body)):
        if tool is not None:
            arguments = json.dumps({"query": text}, ensure_ascii=False)
            call = ToolCall(new_id("call_", 24), tool, arguments)
            choices.append(Choice(index, None, "tool_calls", call))
            continue
        if slow:
            answer = " ".join(f"tick{i}" for i in range(1, SLOW_STREAM_WORDS + 1))
        elif format_type in ("json_object", "json_schema"):
            document: Json = {"echo": text} | ({"choice": index} if index else {})
            answer = json.dumps(document, ensure_ascii=False)
        else:
            answer = f"echo: {text}" + (f" #{index}" if index else "")
        content, finish = _limit(answer, body.get("stop"), budget)
        choices.append(Choice(index, content, finish))
    return choices


def chat_prompt_tokens(body: Json) -> int:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    return sum(_words(_text_of(m.get("content"))) + 3 for m in messages)


def _tool_call_json(call: ToolCall) -> Json:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def chat_completion_body(
    body: Json, choices: Sequence[Choice], model: str, *, sparse: bool
) -> Json:
    want_logprobs = body.get("logprobs") is True
    top = _top_logprobs(body)
    rendered = []
    for choice in choices:
        message: Json = {"role": "assistant", "content": choice.content}
        if choice.tool_call is not None:
            message["tool_calls"] = [_tool_call_json(choice.tool_call)]
        item: Json = {"index": choice.index, "message": message}
        if not sparse:
            message["refusal"] = None
            message["annotations"] = []
            tokens = tokenize(choice.content or "")
            item["logprobs"] = (
                {
                    "content": [_token_logprob(t, i, top) for i, t in enumerate(tokens)],
                    "refusal": None,
                }
                if want_logprobs and choice.content is not None
                else None
            )
        item["finish_reason"] = choice.finish_reason
        rendered.append(item)
    completion = sum(c.completion_tokens for c in choices)
    result: Json = {
        "id": new_id("chatcmpl-", 29),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": rendered,
        "usage": _usage(chat_prompt_tokens(body), completion, details=not sparse),
    }
    if not sparse:
        result["service_tier"] = "default"
        result["system_fingerprint"] = SYSTEM_FINGERPRINT
    return result


def _fragments(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _chat_choice_events(choice: Choice, body: Json, *, sparse: bool) -> Iterator[Json]:
    """The ``choices[]`` items of one choice's stream, in order."""
    want_logprobs = body.get("logprobs") is True
    top = _top_logprobs(body)

    def item(delta: Json, finish: str | None = None, logprobs: Json | None = None) -> Json:
        entry: Json = {"index": choice.index, "delta": delta}
        if not sparse:
            entry["logprobs"] = logprobs
            entry["finish_reason"] = finish
        elif finish is not None:
            entry["finish_reason"] = finish
        return entry

    head: Json = {"role": "assistant", "content": "" if choice.tool_call is None else None}
    call = choice.tool_call
    if call is not None:
        head["tool_calls"] = [
            {
                "index": 0,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
        ]
    if not sparse:
        head["refusal"] = None
    yield item(head)
    if call is not None:
        for fragment in _fragments(call.arguments, 6):
            yield item({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
    else:
        for position, token in enumerate(tokenize(choice.content or "")):
            logprobs = (
                {"content": [_token_logprob(token, position, top)], "refusal": None}
                if want_logprobs
                else None
            )
            yield item({"content": token}, logprobs=logprobs)
    yield item({}, finish=choice.finish_reason)


def chat_chunks(body: Json, choices: Sequence[Choice], model: str, *, sparse: bool) -> list[Json]:
    """Every chunk of a chat stream; choices interleave by index, one per chunk."""
    chunk_id, created = new_id("chatcmpl-", 29), int(time.time())
    include_usage = _include_usage(body)
    options = _as_dict(body.get("stream_options"))
    obfuscate = not sparse and options.get("include_obfuscation") is not False

    def envelope(items: list[Json], usage: Json | None = None) -> Json:
        chunk: Json = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        if not sparse:
            chunk["service_tier"] = "default"
            chunk["system_fingerprint"] = SYSTEM_FINGERPRINT
        chunk["choices"] = items
        if include_usage and not sparse:
            chunk["usage"] = usage
        if obfuscate:
            chunk["obfuscation"] = new_id("", secrets.randbelow(12) + 1)
        return chunk

    streams = [_chat_choice_events(c, body, sparse=sparse) for c in choices]
    chunks = [
        envelope([item])
        for group in itertools.zip_longest(*streams)
        for item in group
        if item is not None
    ]
    usage = _usage(
        chat_prompt_tokens(body), sum(c.completion_tokens for c in choices), details=not sparse
    )
    if sparse:
        chunks[-1]["usage"] = usage
    elif include_usage:
        chunks.append(envelope([], usage))
    return chunks


# ---------------------------------------------------------------- legacy completions


def _prompts(prompt: object) -> list[str]:
    """A completions ``prompt``: string, list of strings, token ids or lists of ids."""
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt:
        if all(isinstance(p, int) for p in prompt):
            return [" ".join(str(p) for p in prompt)]
        return [p if isinstance(p, str) else " ".join(map(str, p)) for p in prompt]
    return [""]


def plan_completion(body: Json) -> list[Choice]:
    n = _choice_count(body)
    budget = body.get("max_tokens")
    budget = COMPLETIONS_DEFAULT_MAX_TOKENS if budget is None else budget
    choices = []
    for p, prompt in enumerate(_prompts(body.get("prompt"))):
        for i in range(n):
            answer = f"echo: {prompt}" + (f" #{i}" if i else "")
            text, finish = _limit(answer, body.get("stop"), budget)
            choices.append(Choice(p * n + i, text, finish))
    return choices


def _completion_logprobs(tokens: Sequence[str], top: int, first: int = 0) -> Json:
    offsets = list(itertools.accumulate((len(t) for t in tokens[:-1]), initial=0))
    return {
        "tokens": list(tokens),
        "token_logprobs": [_logprob(first + i) for i in range(len(tokens))],
        "top_logprobs": [
            {t: _logprob(first + i)} | {f"{t}~{k}": _logprob(first + i) - k for k in range(1, top)}
            for i, t in enumerate(tokens)
        ],
        "text_offset": offsets,
    }


def _logprobs_wanted(body: Json) -> int | None:
    value = body.get("logprobs")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def completion_body(body: Json, choices: Sequence[Choice], model: str, *, sparse: bool) -> Json:
    top = _logprobs_wanted(body)
    rendered = []
    for choice in choices:
        item: Json = {"text": choice.content, "index": choice.index}
        if not sparse:
            tokens = tokenize(choice.content or "")
            item["logprobs"] = None if top is None else _completion_logprobs(tokens, top)
        item["finish_reason"] = choice.finish_reason
        rendered.append(item)
    prompt_tokens = sum(_words(p) for p in _prompts(body.get("prompt")))
    completion = sum(c.completion_tokens for c in choices)
    return {
        "id": new_id("cmpl-", 29),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": rendered,
        "usage": _usage(prompt_tokens, completion, details=False),
    }


def completion_chunks(
    body: Json, choices: Sequence[Choice], model: str, *, sparse: bool
) -> list[Json]:
    chunk_id, created = new_id("cmpl-", 29), int(time.time())
    include_usage = _include_usage(body)
    top = _logprobs_wanted(body)

    def events(choice: Choice) -> Iterator[Json]:
        for position, token in enumerate(tokenize(choice.content or "")):
            item: Json = {"text": token, "index": choice.index}
            if not sparse:
                lp = None if top is None else _completion_logprobs([token], top, position)
                item |= {"logprobs": lp, "finish_reason": None}
            yield item
        final: Json = {"text": "", "index": choice.index}
        if not sparse:
            final["logprobs"] = None
        yield final | {"finish_reason": choice.finish_reason}

    def envelope(items: list[Json], usage: Json | None = None) -> Json:
        chunk: Json = {
            "id": chunk_id,
            "object": "text_completion",
            "created": created,
            "choices": items,
            "model": model,
        }
        if include_usage and not sparse:
            chunk["usage"] = usage
        return chunk

    groups = itertools.zip_longest(*(events(c) for c in choices))
    chunks = [envelope([item]) for group in groups for item in group if item is not None]
    prompt_tokens = sum(_words(p) for p in _prompts(body.get("prompt")))
    usage = _usage(prompt_tokens, sum(c.completion_tokens for c in choices), details=False)
    if sparse:
        chunks[-1]["usage"] = usage
    elif include_usage:
        chunks.append(envelope([], usage))
    return chunks


# ---------------------------------------------------------------- embeddings


def embedding_inputs(value: object) -> list[tuple[str, int]] | None:
    """(text to hash, token count) per input; ``None`` when OpenAI would reject it."""
    if isinstance(value, str):
        return [(value, _words(value))] if value else None
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, int) for v in value):
        return [(json.dumps(value), len(value))]
    inputs: list[tuple[str, int]] = []
    for item in value:
        if isinstance(item, str) and item:
            inputs.append((item, _words(item)))
        elif isinstance(item, list) and item and all(isinstance(v, int) for v in item):
            inputs.append((json.dumps(item), len(item)))
        else:
            return None
    return inputs


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A unit vector from a hash of ``text``, already rounded to float32 so the float
    and base64 encodings carry exactly the same numbers."""
    digest = hashlib.shake_256(text.encode()).digest(4 * dimensions)
    raw = [
        int.from_bytes(digest[i : i + 4], "little") / 2**31 - 1.0 for i in range(0, len(digest), 4)
    ]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in raw))
    return list(struct.unpack(f"<{dimensions}f", packed))


def embedding_body(body: Json, inputs: Sequence[tuple[str, int]], model: str) -> Json:
    dimensions = body.get("dimensions")
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
        dimensions = EMBEDDING_DIMENSIONS
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, (text, _) in enumerate(inputs):
        vector = embedding_vector(text, dimensions)
        encoded: object = (
            base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            if as_base64
            else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count for _, count in inputs)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# ---------------------------------------------------------------- models and routes


def invalid_url_error(method: str, path: str) -> Json:
    return error_body(f"Invalid URL ({method} {path})", "invalid_request_error")


def model_json(entry: tuple[str, str, int]) -> Json:
    model_id, owner, created = entry
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}
