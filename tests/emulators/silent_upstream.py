"""An OpenAI-compatible upstream that never reports usage, like llama.cpp's server in
streams: it ignores ``stream_options.include_usage`` and sends no ``usage`` anywhere.

Answers are fixed words so token counts are known: chat content is the first
``max_tokens`` (default 9) words of ``WORDS`` joined by spaces, one word per stream
chunk (``slow`` in the model name: ``delay`` seconds between chunks). Requests are kept
in ``requests``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Self

import uvicorn

from tests.conftest import free_port

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def answer_words(body: dict[str, Any]) -> list[str]:
    count = body.get("max_tokens") or body.get("max_completion_tokens") or 9
    return [WORDS[i % len(WORDS)] for i in range(count)]


class SilentUpstream:
    def __init__(self, delay: float = 0.1) -> None:
        self.delay = delay
        self.requests: list[dict[str, Any]] = []

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/v1/models":
            await self._json(send, {"object": "list", "data": []})
            return
        body = json.loads(raw or b"{}")
        self.requests.append(body)
        words = answer_words(body)
        model = body.get("model", "silent")
        base = {"id": "chatcmpl-silent", "created": int(time.time()), "model": model}
        if not body.get("stream"):
            message_body = {"role": "assistant", "content": " ".join(words)}
            await self._json(
                send,
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "message": message_body, "finish_reason": "stop"}],
                },
            )
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for i, word in enumerate(words):
            text = word if i == 0 else " " + word
            chunk = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
            }
            await send({"type": "http.response.body", "body": _event(chunk), "more_body": True})
            if "slow" in model:
                await asyncio.sleep(self.delay)
        last = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        await send({"type": "http.response.body", "body": _event(last) + b"data: [DONE]\n\n"})

    async def _json(self, send: Callable[[Message], Awaitable[None]], doc: object) -> None:
        payload = json.dumps(doc).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _event(chunk: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


class SilentServer:
    def __init__(self, delay: float = 0.1) -> None:
        self.app = SilentUpstream(delay)
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Self:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            loop="asyncio",
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("silent upstream did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
