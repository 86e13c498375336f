"""A ``trtllm-serve`` emulator, quirks included (``docs/reference/trtllm-serve.md``).

What it does like the real server:

- Request bodies are validated like pydantic ``extra="forbid"`` models: any field the
  pinned ``openai_protocol.py`` does not declare is a 400 ``{"error": "<text>"}``, as
  are ``suffix`` on chat, ``top_logprobs`` without ``logprobs``, ``stream_options``
  without ``stream`` and ``tool_choice: required`` without ``tools``. The ``model``
  field is echoed, never checked.
- Non-streaming bodies are ``model_dump()``-shaped: every optional key present, null
  when unset; no ``refusal``; ``tool_calls: []``; per-choice ``stop_reason``,
  ``disaggregated_params``, ``avg_decoded_tokens_per_iter``; top-level
  ``prompt_token_ids: null``.
- Streams: a role-only first chunk written as ``data: <json> `` + blank line (the
  space), null keys left out (no ``finish_reason`` until the last content chunk), a
  usage chunk only when ``stream_options`` was sent (``include_usage`` defaulting to
  true inside it), ``data: [DONE]``.
- ``/health`` (empty 200 or the plain-text 503), ``/v1/models`` (``created`` = now),
  ``/version``, ``/metrics`` (JSON iteration stats that drain on every read, ``[]``
  when no iteration ran), ``/prometheus/metrics`` (only with ``perf_metrics``; else
  FastAPI's 404), ``/server_info``, ``/kv_cache_events``, ``/_internal/tokenize``.
- Prefix caching: prompts are cut into ``tokens_per_block``-word blocks with chained
  hashes; leading blocks seen before count as ``prompt_tokens_details.cached_tokens``.

Controls for tests (set from the test thread): ``load`` (what the metrics report;
``None`` derives it from live requests), ``healthy``, ``fault`` (see ``FAULTS``),
``token_delay``, ``metrics_down``; counters ``scrapes``, ``served`` and the request
log ``requests``.
Run it with ``TrtllmServer(...).start()``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
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
    send_bytes,
    send_chunk,
    send_json,
    start_stream,
)
from tests.emulators.openai_bodies import _text_of, tokenize

Json = dict[str, Any]
UNAVAILABLE = b"LLM is unavailable. Please check the server logs for more details."
_OPENAI = (
    "model",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "n",
    "presence_penalty",
    "response_format",
    "seed",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "user",
    "lora_request",
    "prompt_ignore_length",
    "use_beam_search",
    "top_k",
    "top_p_min",
    "min_p",
    "repetition_penalty",
    "length_penalty",
    "early_stopping",
    "stop_token_ids",
    "include_stop_str_in_output",
    "ignore_eos",
    "min_tokens",
    "skip_special_tokens",
    "spaces_between_special_tokens",
    "truncate_prompt_tokens",
    "add_special_tokens",
    "disaggregated_params",
    "priority",
    "conversation_params",
    "best_of",
    "thinking_token_budget",
    "echo",
)
CHAT_FIELDS = frozenset(
    (
        *_OPENAI,
        "messages",
        "prompt_token_ids",
        "prompt_token_ids_b64",
        "top_logprobs",
        "max_completion_tokens",
        "max_tokens",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "thinking",
        "add_generation_prompt",
        "documents",
        "chat_template",
        "chat_template_kwargs",
        "injected_chat_template_kwargs",
        "media_io_kwargs",
        "cache_salt",
        "agent_hierarchy",
        "mm_processor_kwargs",
    )
)
COMPLETION_FIELDS = frozenset(
    (*_OPENAI, "prompt", "max_tokens", "suffix", "return_context_logits", "detokenize")
)
# crash-mid-stream: chat drops the connection after two tokens, completions send an
# in-stream error then [DONE]; crash-before-first-token: drop after the role chunk;
# fatal: the in-flight request gets no response and the engine dies; hang: no answer;
# error-500: the handler's error body.
FAULTS = ("crash-mid-stream", "crash-before-first-token", "fatal", "hang", "error-500")


@dataclass
class Load:
    waiting: float = 0
    running: float = 0
    kv: float = 0.0  # 0..1


def _validation_error(model: str, problems: list[tuple[str, str, str]]) -> Json:
    lines = [f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} for {model}"]
    for where, message, kind in problems:
        lines += [where, f"  {message} [type={kind}]"]
    return {"error": "\n".join(lines)}


class TrtllmEngine:
    """The ASGI app of one engine."""

    def __init__(
        self,
        *,
        served_model_name: str = "llama-3.1-8b-instruct",
        perf_metrics: bool = True,
        tokens_per_block: int = 16,
        max_blocks: int = 4096,
        version: str = "1.1.0",
    ) -> None:
        self.served_model_name = served_model_name
        self.perf_metrics = perf_metrics
        self.tokens_per_block = tokens_per_block
        self.max_blocks = max_blocks
        self.version = version
        self.healthy = True
        self.fault: str | None = None
        self.load: Load | None = None
        self.metrics_down = False  # metrics routes answer 500 (samples go stale)
        self.token_delay = 0.0
        self.requests: deque[Json] = deque(maxlen=500)
        self.scrapes = 0
        self.served = 0
        self.active = 0
        self.on_fatal: Any = None  # set by TrtllmServer: kills the process
        self._cache: dict[int, None] = {}
        self._iterations: list[Json] = []
        self._iter = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        if raw is None:
            return
        method, path = scope["method"], scope["path"]
        routes = {
            ("GET", "/health"): self._health,
            ("GET", "/version"): self._version,
            ("GET", "/v1/models"): self._models,
            ("GET", "/metrics"): self._metrics_json,
            ("GET", "/prometheus/metrics"): self._metrics_prometheus,
            ("GET", "/server_info"): self._server_info,
            ("POST", "/kv_cache_events"): self._kv_events,
        }
        handler = routes.get((method, path))
        if handler is not None:
            await handler(send)
            return
        if method == "POST" and path in ("/v1/chat/completions", "/v1/completions"):
            await self._generate(path, raw, header_map(scope), receive, send)
        elif method == "POST" and path == "/_internal/tokenize":
            body = json.loads(raw or b"{}")
            tokens = [len(t) for t in tokenize(str(body.get("prompt", "")))]
            await send_json(send, 200, {"count": len(tokens), "tokens": tokens})
        else:
            await send_json(send, 404, {"detail": "Not Found"})

    async def _health(self, send: Send) -> None:
        if self.healthy:
            await send_bytes(send, 200, b"", [])
        else:
            await send_bytes(send, 503, UNAVAILABLE, [(b"content-type", b"text/plain")])

    async def _version(self, send: Send) -> None:
        await send_json(send, 200, {"version": self.version})

    async def _models(self, send: Send) -> None:
        card = {
            "id": self.served_model_name,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "tensorrt_llm",
        }
        await send_json(send, 200, {"object": "list", "data": [card]})

    async def _server_info(self, send: Send) -> None:
        await send_json(send, 200, {"tokens_per_block": self.tokens_per_block})

    async def _kv_events(self, send: Send) -> None:
        await send_json(send, 200, [])

    def _current_load(self) -> Load:
        if self.load is not None:
            return self.load
        return Load(waiting=0, running=self.active, kv=min(len(self._cache) / self.max_blocks, 1))

    async def _metrics_json(self, send: Send) -> None:
        self.scrapes += 1
        if self.metrics_down:
            await send_json(send, 500, {"detail": "Internal Server Error"})
            return
        with self._lock:
            if self.load is not None:
                self._iteration()  # under (emulated) load the engine iterates between reads
            drained, self._iterations = self._iterations, []
        await send_json(send, 200, drained)

    def _iteration(self) -> None:
        load = self._current_load()
        self._iter += 1
        used = round(load.kv * self.max_blocks)
        self._iterations.append(
            {
                "iter": self._iter,
                "iterLatencyMS": 12.5,
                "gpuMemUsage": 1 << 30,
                "numActiveRequests": load.running,
                "numQueuedRequests": load.waiting,
                "numCompletedRequests": 0,
                "maxNumActiveRequests": 64,
                "kvCacheStats": {
                    "maxNumBlocks": self.max_blocks,
                    "freeNumBlocks": self.max_blocks - used,
                    "usedNumBlocks": used,
                    "tokensPerBlock": self.tokens_per_block,
                    "reusedBlocks": 0,
                    "missedBlocks": 0,
                    "cacheHitRate": 0.0,
                },
                "inflightBatchingStats": {"numContextRequests": 0, "numGenRequests": load.running},
            }
        )

    async def _metrics_prometheus(self, send: Send) -> None:
        if not self.perf_metrics:
            await send_json(send, 404, {"detail": "Not Found"})
            return
        self.scrapes += 1
        if self.metrics_down:
            await send_json(send, 500, {"detail": "Internal Server Error"})
            return
        load = self._current_load()
        labels = 'model_name="undefined",engine_type="undefined"'
        gauges = [
            ("trtllm_num_requests_running", "Number of requests currently running.", load.running),
            ("trtllm_num_requests_waiting", "Number of requests waiting.", load.waiting),
            ("trtllm_kv_cache_utilization", "KV cache utilization.", load.kv),
            ("trtllm_kv_cache_hit_rate", "KV cache hit rate.", 0.0),
            ("trtllm_kv_cache_tokens_per_block", "Tokens per KV block.", self.tokens_per_block),
        ]
        lines = []
        for name, help_text, value in gauges:
            lines += [
                f"# HELP {name} {help_text}",
                f"# TYPE {name} gauge",
                f"{name}{{{labels}}} {float(value)}",
            ]
        lines += [
            "# HELP trtllm_request_success_total Count of successfully processed requests.",
            "# TYPE trtllm_request_success_total counter",
            f'trtllm_request_success_total{{{labels},finished_reason="stop"}} {float(self.served)}',
        ]
        body = ("\n".join(lines) + "\n").encode()
        headers = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
        await send_bytes(send, 200, body, headers)

    # ------------------------------------------------------------------ generation

    async def _generate(
        self, path: str, raw: bytes, headers: dict[str, str], receive: Receive, send: Send
    ) -> None:
        chat = path == "/v1/chat/completions"
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.requests.append({"path": path, "headers": headers, "body": body})
        if not isinstance(body, dict):
            await send_json(send, 400, {"error": "Invalid JSON body"})
            return
        problem = self._validate(body, chat)
        if problem is not None:
            await send_json(send, 400, problem)
            return
        fault = self.fault
        if fault == "hang":
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        if fault == "fatal":
            drop_connection(send)
            if self.on_fatal is not None:
                self.on_fatal()
            return
        if fault == "error-500":
            error = {
                "object": "error",
                "message": "Executor error: CUDA out of memory",
                "type": "InternalServerError",
                "param": None,
                "code": 500,
            }
            await send_json(send, 500, error)
            return
        self.active += 1
        try:
            if body.get("stream"):
                await self._stream(body, chat, send)
            else:
                await send_json(send, 200, self._body(body, chat))
            self.served += 1
        finally:
            self.active -= 1

    def _validate(self, body: Json, chat: bool) -> Json | None:
        name = "ChatCompletionRequest" if chat else "CompletionRequest"
        allowed = CHAT_FIELDS if chat else COMPLETION_FIELDS
        problems = [
            (
                key,
                "Extra inputs are not permitted",
                f"extra_forbidden, input_value={json.dumps(value)[:40]}, "
                f"input_type={type(value).__name__}",
            )
            for key, value in body.items()
            if key not in allowed
        ]
        required = "messages" if chat else "prompt"
        for key in ("model", required):
            if key not in body:
                problems.append((key, "Field required", "missing"))
        if problems:
            return _validation_error(name, problems)
        if body.get("suffix"):
            reason = "suffix is not supported"
        elif chat and body.get("top_logprobs") is not None and not body.get("logprobs"):
            reason = "logprobs must be true when using top_logprobs"
        elif body.get("stream_options") is not None and not body.get("stream"):
            reason = "stream_options can only be set if stream is true"
        elif (
            chat and body.get("tool_choice") not in (None, "none", "auto") and not body.get("tools")
        ):
            reason = "When using `tool_choice`, `tools` must be set."
        else:
            return None
        return _validation_error(name, [("", f"Value error, {reason}", "value_error")])

    def _prompt_words(self, body: Json, chat: bool) -> list[str]:
        if not chat:
            return str(body.get("prompt", "")).split()
        words: list[str] = []
        for message in body.get("messages") or ():
            words.append(f"<|{message.get('role')}|>")
            words.extend(_text_of(message.get("content")).split())
        return words

    def _cached_tokens(self, words: list[str]) -> int:
        """Leading whole blocks already in the (emulated) KV cache, then cache them all."""
        size, chain, hit, leading = self.tokens_per_block, b"", 0, True
        with self._lock:
            for start in range(0, len(words) - len(words) % size, size):
                chain = hashlib.blake2b(
                    chain + " ".join(words[start : start + size]).encode(), digest_size=8
                ).digest()
                key = int.from_bytes(chain)
                if leading and key in self._cache:
                    hit += size
                else:
                    leading = False
                self._cache[key] = None
            while len(self._cache) > self.max_blocks:
                del self._cache[next(iter(self._cache))]
            self._iteration()
        return hit

    def _answer(self, body: Json, chat: bool) -> tuple[str, str, Json]:
        words = self._prompt_words(body, chat)
        cached = self._cached_tokens(words)
        if chat:
            users = [m for m in body["messages"] if m.get("role") == "user"]
            text = "echo: " + (_text_of(users[-1].get("content")) if users else "")
        else:
            text = " echo"
        limit = body.get("max_tokens", body.get("max_completion_tokens"))
        pieces = tokenize(text)
        finish = "stop"
        if isinstance(limit, int) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "length"
        usage = {
            "prompt_tokens": len(words),
            "total_tokens": len(words) + len(pieces),
            "completion_tokens": len(pieces),
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        return "".join(pieces), finish, usage

    def _body(self, body: Json, chat: bool) -> Json:
        text, finish, usage = self._answer(body, chat)
        if chat:
            choice: Json = {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "reasoning_content": None,
                    "reasoning": None,
                    "tool_calls": [],
                },
                "logprobs": None,
                "finish_reason": finish,
                "stop_reason": None,
                "mm_embedding_handle": None,
                "disaggregated_params": None,
                "avg_decoded_tokens_per_iter": None,
            }
            return {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [choice],
                "usage": usage,
                "prompt_token_ids": None,
                "prompt_token_ids_b64": None,
            }
        choice = {
            "index": 0,
            "text": text,
            "token_ids": None,
            "logprobs": None,
            "context_logits": None,
            "finish_reason": finish,
            "stop_reason": None,
            "disaggregated_params": None,
            "avg_decoded_tokens_per_iter": None,
        }
        return {
            "id": f"cmpl-{uuid.uuid4().hex}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [choice],
            "usage": usage,
            "prompt_token_ids": None,
        }

    async def _stream(self, body: Json, chat: bool, send: Send) -> None:
        text, finish, usage = self._answer(body, chat)
        kind = "chat.completion.chunk" if chat else "text_completion"
        envelope = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
            "object": kind,
            "created": int(time.time()),
            "model": body["model"],
        }

        def frame(choices: list[Json], extra: Json | None = None, *, space: bool = False) -> bytes:
            data = json.dumps(
                {**envelope, "choices": choices, **(extra or {})}, separators=(",", ":")
            )
            return f"data: {data}{' ' if space else ''}\n\n".encode()

        await start_stream(send)
        if chat:
            await send_chunk(
                send, frame([{"index": 0, "delta": {"role": "assistant"}}], space=True)
            )
        if self.fault == "crash-before-first-token":
            drop_connection(send)
            return
        pieces = tokenize(text)
        for position, piece in enumerate(pieces):
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            if self.fault == "crash-mid-stream" and position == 2:
                if chat:
                    drop_connection(send)  # chat: the connection just closes
                    return
                error = {
                    "error": {
                        "object": "error",
                        "message": "Executor error",
                        "type": "InternalServerError",
                        "param": None,
                        "code": 500,
                    }
                }
                await send_chunk(send, f"data: {json.dumps(error)}\n\n".encode())
                await send_chunk(send, b"data: [DONE]\n\n")
                await end_stream(send)
                return
            last = position == len(pieces) - 1
            item: Json = {"index": 0}
            if chat:
                item["delta"] = {"content": piece}
            else:
                item["text"] = piece
            if last:
                item["finish_reason"] = finish
            options = body.get("stream_options") or {}
            extra = {"usage": usage} if options.get("continuous_usage_stats") else None
            await send_chunk(send, frame([item], extra))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage", True):
            await send_chunk(send, frame([], {"usage": usage}))
        await send_chunk(send, b"data: [DONE]\n\n")
        await end_stream(send)


class TrtllmServer(ThreadedServer):
    """One emulated engine on its own port; ``fault = "fatal"`` kills it like the
    executor's fatal-error shutdown."""

    def __init__(self, engine: TrtllmEngine | None = None, *, port: int = 0) -> None:
        self.engine = engine or TrtllmEngine()
        super().__init__(self.engine, port=port)
        self.engine.on_fatal = lambda: threading.Thread(target=self.kill, daemon=True).start()

    @property
    def base_url(self) -> str:
        return self.root_url

    def wait_scrapes(self, count: int = 2, timeout: float = 5.0) -> None:
        """Block until the gateway has read the metrics ``count`` more times."""
        target = self.engine.scrapes + count
        deadline = time.monotonic() + timeout
        while self.engine.scrapes < target:
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway did not scrape the engine's metrics")
            time.sleep(0.01)
