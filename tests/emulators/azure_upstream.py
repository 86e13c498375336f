"""An Azure OpenAI emulator: OpenAI's documents behind Azure's routing, auth and filters.

What differs from ``openai_upstream`` (and what it checks):

- Routes are ``POST /openai/deployments/{deployment}/{chat/completions|completions|
  embeddings}?api-version=...``. No ``api-version`` → 404 ``Resource not found``; one
  not in ``API_VERSIONS`` → 400; an unknown deployment → 404 ``DeploymentNotFound``.
  The body's ``model`` is ignored; the deployment's model is reported.
- The key comes in an ``api-key`` header (401 with Azure's ``{"error": {"code":
  "401", ...}}`` otherwise).
- Content filtering: a prompt containing ``BLOCKED_TERM`` is refused with 400
  ``code: "content_filter"`` and Azure's ``innererror`` details; every answer carries
  ``prompt_filter_results`` and per-choice ``content_filter_results``; a stream opens
  with a chunk whose ``choices`` is empty (``id``, ``model`` and ``object`` empty,
  ``created`` 0) carrying only the prompt filter results, and has a content-filter
  annotation chunk (``content_filter_offsets``, the same empty ``id``) before the
  finishing chunk.
- Each api-version's spec: before 2024-09 no ``stream_options``, before 2024-12 no
  ``developer`` role and no ``reasoning_effort``, never ``service_tier`` (400s with
  Azure's messages).
- JSON keys are sorted alphabetically, as Azure's serializer does.
- Deployment scenarios: ``rate-limited`` (429 with ``retry-after`` and
  ``retry-after-ms``), ``broken`` (500).

Run it with ``AzureServer(api_key=...).start()``; requests land in ``requests``.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from tests.emulators.asgi_server import (
    Receive,
    Scope,
    Send,
    ThreadedServer,
    end_stream,
    header_map,
    query_map,
    read_body,
    send_chunk,
    send_json,
    start_stream,
)
from tests.emulators.openai_bodies import (
    chat_chunks,
    chat_completion_body,
    completion_body,
    embedding_body,
    embedding_inputs,
    plan_chat,
    plan_completion,
)

Json = dict[str, Any]
API_VERSIONS = frozenset(
    {
        "2024-02-01",
        "2024-06-01",
        "2024-09-01-preview",
        "2024-10-21",
        "2024-12-01-preview",
        "2025-01-01-preview",
    }
)
BLOCKED_TERM = "forbidden-topic"
DEFAULT_DEPLOYMENTS = {
    "chat": "gpt-4o-mini-2024-07-18",
    "embed": "text-embedding-3-small",
    "rate-limited": "gpt-4o-mini-2024-07-18",
    "broken": "gpt-4o-mini-2024-07-18",
}
_SAFE = {"filtered": False, "severity": "safe"}
_FILTERS: Json = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
_PROMPT_FILTERS = [{"prompt_index": 0, "content_filter_results": _FILTERS}]
_FILTERED_ERROR = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy. Please modify your prompt and retry. To learn more about "
        "our content filtering policies please read our documentation: "
        "https://go.microsoft.com/fwlink/?linkid=2198766",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                **_FILTERS,
                "violence": {"filtered": True, "severity": "medium"},
            },
        },
    }
}


def _error(code: str, message: str) -> Json:
    return {"error": {"code": code, "message": message}}


def _spec_problem(version: str, body: Json) -> Json | None:
    """What the api-version's spec does not declare, refused as Azure does: before
    2024-09 no ``stream_options``, before 2024-12 no ``developer`` role and no
    ``reasoning_effort``; no dated version has ``service_tier``."""
    undeclared = ["service_tier"]
    if version < "2024-09":
        undeclared.append("stream_options")
    if version < "2024-12":
        undeclared.append("reasoning_effort")
    for name in undeclared:
        if name in body:
            return {
                "error": {
                    "message": f"Unrecognized request argument supplied: {name}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
    for i, message in enumerate(body.get("messages") or ()):
        if version < "2024-12" and message.get("role") == "developer":
            return {
                "error": {
                    "message": "Invalid value: 'developer'. Supported values are: 'system', "
                    "'assistant', 'user', 'function', and 'tool'.",
                    "type": "invalid_request_error",
                    "param": f"messages[{i}].role",
                    "code": "invalid_value",
                }
            }
    return None


class AzureEmulator:
    def __init__(self, *, api_key: str, deployments: dict[str, str] | None = None) -> None:
        self.api_key = api_key
        self.deployments = dict(deployments or DEFAULT_DEPLOYMENTS)
        self.requests: deque[Json] = deque(maxlen=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        if raw is None:
            return
        headers, query, path = header_map(scope), query_map(scope), scope["path"]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            {
                "method": scope["method"],
                "path": path,
                "query": query,
                "headers": headers,
                "body": body,
            }
        )
        if headers.get("api-key") != self.api_key:
            await send_json(
                send,
                401,
                _error(
                    "401",
                    "Access denied due to invalid subscription key or wrong API endpoint. "
                    "Make sure to provide a valid key for an active subscription and use a correct "
                    "regional API endpoint for your resource.",
                ),
            )
            return
        version = query.get("api-version")
        if version is None:
            await send_json(send, 404, _error("404", "Resource not found"))
            return
        if version not in API_VERSIONS:
            await send_json(send, 400, _error("BadRequest", "API version not supported"))
            return
        if scope["method"] == "GET" and path == "/openai/models":
            data = [{"id": m, "object": "model"} for m in sorted(set(self.deployments.values()))]
            await send_json(send, 200, {"data": data, "object": "list"}, sort_keys=True)
            return
        prefix, _, rest = path.partition("/openai/deployments/")
        deployment, _, operation = rest.partition("/")
        if prefix or scope["method"] != "POST" or not deployment:
            await send_json(send, 404, _error("404", "Resource not found"))
            return
        model = self.deployments.get(deployment)
        if model is None:
            await send_json(
                send,
                404,
                _error(
                    "DeploymentNotFound",
                    "The API deployment for this resource does not exist. If you created the "
                    "deployment within the last 5 minutes, please wait a moment and try again.",
                ),
            )
            return
        if not isinstance(body, dict):
            await send_json(send, 400, _error("BadRequest", "Invalid JSON body."))
            return
        await self._operate(deployment, operation, model, version, body, send)

    async def _operate(
        self, deployment: str, operation: str, model: str, version: str, body: Json, send: Send
    ) -> None:
        if deployment == "rate-limited":
            message = (
                f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                f"{version} have exceeded token rate limit of your current OpenAI S0 pricing "
                "tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease"
                " if you would like to further increase the default rate limit."
            )
            headers = [(b"retry-after", b"1"), (b"retry-after-ms", b"1000")]
            await send_json(send, 429, _error("429", message), headers)
            return
        if deployment == "broken":
            await send_json(
                send,
                500,
                _error(
                    "InternalServerError",
                    "The service is temporarily unable to process your "
                    "request. Please try again later.",
                ),
            )
            return
        problem = _spec_problem(version, body)
        if problem is not None:
            await send_json(send, 400, problem)
            return
        if BLOCKED_TERM in json.dumps(body.get("messages") or body.get("prompt") or ""):
            await send_json(send, 400, _FILTERED_ERROR)
            return
        if operation == "chat/completions":
            choices = plan_chat(body)
            if body.get("stream") is True:
                await self._stream(chat_chunks(body, choices, model, sparse=False), send)
                return
            document = chat_completion_body(body, choices, model, sparse=False)
        elif operation == "completions":
            document = completion_body(body, plan_completion(body), model, sparse=False)
        elif operation == "embeddings":
            inputs = embedding_inputs(body.get("input")) or []
            await send_json(send, 200, embedding_body(body, inputs, model), sort_keys=True)
            return
        else:
            await send_json(send, 404, _error("404", "Resource not found"))
            return
        document.pop("service_tier", None)
        document["prompt_filter_results"] = _PROMPT_FILTERS
        for choice in document["choices"]:
            choice["content_filter_results"] = _FILTERS
        await send_json(send, 200, document, sort_keys=True)

    async def _stream(self, chunks: list[Json], send: Send) -> None:
        await start_stream(send, [(b"apim-request-id", b"emulated")])
        opening = {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": _PROMPT_FILTERS,
        }
        # Asynchronous filtering: an annotation chunk after the content, without id,
        # created or model, as the real service sends it.
        annotation = {
            "choices": [
                {
                    "content_filter_offsets": {
                        "check_offset": 0,
                        "start_offset": 0,
                        "end_offset": 10,
                    },
                    "content_filter_results": _FILTERS,
                    "finish_reason": None,
                    "index": 0,
                }
            ],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
        }
        finish = next(
            (i for i, c in enumerate(chunks) if any(x.get("finish_reason") for x in c["choices"])),
            len(chunks) - 1,
        )
        chunks = [*chunks[:finish], annotation, *chunks[finish:]]
        for chunk in [opening, *chunks]:
            chunk.pop("service_tier", None)
            chunk.pop("obfuscation", None)
            for choice in chunk["choices"] if chunk is not annotation else ():
                has_text = bool((choice.get("delta") or {}).get("content"))
                choice["content_filter_results"] = _FILTERS if has_text else {}
            data = json.dumps(chunk, separators=(",", ":"), sort_keys=True)
            await send_chunk(send, f"data: {data}\n\n".encode())
        await send_chunk(send, b"data: [DONE]\n\n")
        await end_stream(send)


class AzureServer(ThreadedServer):
    def __init__(self, *, api_key: str, deployments: dict[str, str] | None = None) -> None:
        self.emulator = AzureEmulator(api_key=api_key, deployments=deployments)
        super().__init__(self.emulator)

    @property
    def base_url(self) -> str:
        return self.root_url
