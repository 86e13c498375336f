"""Hostile-input drivers shared by ``tests/test_fuzz.py`` (a few hundred cases in CI)
and ``loadtests/fuzz.py`` (the 10,000-request run):

- ``openapi_fuzz``: schemathesis over the gateway's own OpenAPI document (positive and
  negative cases for every operation under ``/v1`` and ``/admin``);
- ``json_fuzz``: a JSON-structure fuzzer on chat bodies, writing raw bytes so that it
  can also send what no JSON library produces (invalid UTF-8, NaN, duplicate keys, ...).

Each response is judged by ``Tally.judge``: never a 500, no dropped connection (a
crash), no request still unanswered after ``TIMEOUT_S`` (a hang), and every error in
OpenAI's shape. Every body carries ``CANARY`` so logs and spans can be searched for
prompt text afterwards.
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

TIMEOUT_S = 15.0
CANARY = "canary-" + secrets.token_hex(6)
ERROR_KEYS = {"message", "type", "param", "code"}


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # status 500
    crashes: list[str] = field(default_factory=list)  # connection dropped, no answer
    hangs: list[str] = field(default_factory=list)  # no answer within TIMEOUT_S
    misshapen: list[str] = field(default_factory=list)  # an error not in OpenAI's shape
    unsendable: int = 0  # cases httpx itself refuses to put on the wire

    def judge(self, what: str, send: Callable[[], httpx.Response]) -> httpx.Response | None:
        self.requests += 1
        try:
            response = send()
        except httpx.TimeoutException:
            self.hangs.append(what)
            return None
        except httpx.LocalProtocolError:
            self.requests -= 1  # the client refused to send it: nothing reached the server
            self.unsendable += 1
            return None
        except httpx.TransportError as exc:
            self.crashes.append(f"{what}: {type(exc).__name__}: {exc}")
            return None
        self.statuses[response.status_code] += 1
        if response.status_code == 500:
            self.server_errors.append(f"{what}: {response.text[:300]}")
        if response.status_code >= 400 and not _openai_error(response):
            self.misshapen.append(f"{what}: {response.status_code} {response.text[:200]}")
        return response

    def summary(self) -> str:
        return (
            f"{self.requests} requests, statuses {dict(sorted(self.statuses.items()))}, "
            f"{len(self.server_errors)} x 500, {len(self.crashes)} crashes, "
            f"{len(self.hangs)} hangs, {len(self.misshapen)} errors not in OpenAI's shape"
        )

    def problems(self) -> list[str]:
        return [*self.server_errors, *self.crashes, *self.hangs, *self.misshapen][:20]


def _openai_error(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"error"} and set(body["error"]) == ERROR_KEYS


# --- schemathesis over the OpenAPI document -----------------------------------------------


def openapi_fuzz(
    base_url: str,
    *,
    team_key: str,
    master_key: str,
    examples: int,
    tally: Tally,
    seed: int = 0,
) -> None:
    """``examples`` generated cases per operation and mode (positive, negative).

    Admin routes get the master key (so the handlers behind auth are reached); the
    rest get a team key. The cases' own auth-free variants come from the negative mode
    (schemathesis drops or mangles the header there too).
    """
    import schemathesis
    from hypothesis.errors import Unsatisfiable

    schema = schemathesis.openapi.from_url(base_url + "/openapi/openapi.json")
    session = httpx.Client(base_url=base_url, timeout=TIMEOUT_S)
    for result in schema.get_all_operations():
        operation = result.ok()
        key = master_key if operation.path.startswith("/admin") else team_key
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            runner = _runner(
                strategy,
                examples,
                seed,
                lambda case, key=key, mode=mode: _send_case(
                    session, case, key, tally, positive=mode is schemathesis.GenerationMode.POSITIVE
                ),
            )
            # Unsatisfiable: nothing to make invalid (no parameters, no body).
            with contextlib.suppress(Unsatisfiable):
                runner()
    session.close()


def _runner(
    strategy: Any, examples: int, seed: int, send: Callable[[Any], None]
) -> Callable[[], None]:
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed == 0,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        send(case)

    return run  # type: ignore[no-any-return]


def _send_case(session: httpx.Client, case: Any, key: str, tally: Tally, *, positive: bool) -> None:
    path = case.formatted_path
    # Positive cases carry our key (so the handlers behind auth are reached); negative
    # ones keep whatever schemathesis made of the header, when it can be sent at all.
    headers = {str(k).lower(): str(v).strip() for k, v in (case.headers or {}).items()}
    if positive or not _header_ok("authorization", headers.get("authorization", "")):
        headers["authorization"] = f"Bearer {key}"
    headers = {k: v for k, v in headers.items() if _header_ok(k, v)}
    from schemathesis.core import NotSet

    body = None if isinstance(case.body, NotSet) else case.body
    query = case.query if isinstance(case.query, dict) else None
    content: bytes | None = None
    if body is not None and not isinstance(body, bytes | str):
        body = _with_canary(body)
        content = json.dumps(body).encode()
        headers.setdefault("content-type", "application/json")
    elif isinstance(body, str | bytes):
        content = body.encode() if isinstance(body, str) else body
    what = f"{case.method} {path} {str(body)[:200]}"
    tally.judge(
        what,
        lambda: session.request(case.method, path, params=query, headers=headers, content=content),
    )


def _header_ok(name: str, value: str) -> bool:
    """What an HTTP client can send at all (the server never sees the rest)."""
    text = name + value
    return (
        bool(name) and text.isascii() and "\r" not in text and "\n" not in text and "\0" not in text
    )


def _with_canary(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        body = {**body, "messages": [*body["messages"], {"role": "user", "content": CANARY}]}
    elif isinstance(body, dict):
        body = {**body, "user": CANARY}
    return body


# --- the JSON-structure fuzzer ------------------------------------------------------------


def _base(rng: random.Random, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": f"{CANARY} hello"}],
    }
    if rng.random() < 0.3:
        body["stream"] = True
    if rng.random() < 0.3:
        body["max_tokens"] = rng.choice([1, 16, 1024])
    return body


def _deep(depth: int, leaf: str = "0") -> str:
    return "[" * depth + leaf + "]" * depth


def _values(rng: random.Random) -> list[Any]:
    return [
        None, True, -1, 0, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0, "", "x" * rng.randint(1, 5000),
        [], {}, [None], {"": None}, "\u0000", "\u202e", "😀" * 50, "\ufeff",
    ]  # fmt: skip


def _mutations(rng: random.Random, model: str) -> list[tuple[str, Callable[[], bytes]]]:
    def dumps(body: object) -> bytes:
        return json.dumps(body).encode()

    def base() -> dict[str, Any]:
        return _base(rng, model)

    def field_value() -> bytes:
        body = base()
        body[rng.choice(["model", "messages", "stream", "n", "max_tokens", "temperature", "tools",
                         "stop", "tool_choice", "response_format", "stream_options", "logit_bias",
                         "seed", "user", "top_logprobs", "logprobs", "max_completion_tokens"])] = (
            rng.choice(_values(rng))
        )  # fmt: skip
        return dumps(body)

    def message_value() -> bytes:
        body = base()
        message = body["messages"][0]
        message[rng.choice(["role", "content", "name", "tool_calls", "tool_call_id"])] = rng.choice(
            _values(rng)
        )
        return dumps(body)

    def deep() -> bytes:
        depth = rng.choice([63, 64, 65, 200, 999, 1000, 5000, 100_000])
        where = rng.choice(["top", "content", "tool", "meta"])
        head = f'{{"model": "{model}", "messages": [{{"role": "user", "content": '
        if where == "content":
            return (head + _deep(depth, f'"{CANARY}"') + "}]}").encode()
        if where == "tool":
            params = '{"type": "object", "properties": ' + "{" * depth + "}" * depth + "}"
            tool = '[{"type": "function", "function": {"name": "f", "parameters": ' + params
            return (head + f'"{CANARY}"}}], "tools": ' + tool + "}}]}").encode()
        if where == "meta":
            return (
                head + f'"{CANARY}"}}], "metadata": ' + '{"a":' * depth + "1" + "}" * depth + "}"
            ).encode()
        return _deep(depth, "{}").encode()

    def huge_array() -> bytes:
        body = base()
        size = rng.choice([10_000, 100_000, 400_000])
        body[rng.choice(["stop", "logit_bias_list", "tools", "x"])] = [0] * size
        return dumps(body)

    def many_messages() -> bytes:
        body = base()
        count = rng.choice([4096, 4097, 20_000, 100_000])
        body["messages"] = [{"role": "user", "content": "x"}] * count
        return dumps(body)

    def many_tools() -> bytes:
        body = base()
        body["tools"] = [
            {"type": "function", "function": {"name": f"f{i}", "parameters": {"type": "object"}}}
            for i in range(rng.choice([128, 129, 5000]))
        ]
        return dumps(body)

    def big_n() -> bytes:
        body = base()
        body["n"] = rng.choice([0, 1, 128, 129, 10**6])
        body["max_tokens"] = rng.choice([1, 10**6, 10**12])
        return dumps(body)

    def invalid_utf8() -> bytes:
        raw = bytearray(dumps(base()))
        position = rng.randrange(len(raw))
        raw[position:position] = rng.choice(
            [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]
        )
        return bytes(raw)

    def number_tokens() -> bytes:
        token = rng.choice(
            ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "01", "+1", ".5", "0x10"]
        )
        return f'{{"model": "{model}", "messages": [{{"role": "user", "content": "{CANARY}"}}], "temperature": {token}}}'.encode()

    def duplicate_keys() -> bytes:
        return (
            f'{{"model": "{model}", "model": "{rng.choice(["x", "emu-reset", "", "../../v1"])}", '
            f'"messages": [{{"role": "user", "content": "{CANARY}", "role": "tool"}}], '
            f'"stream": false, "stream": true}}'
        ).encode()

    def escapes() -> bytes:
        text = rng.choice(
            ["\\ud800", "\\udfff", "\\ud800\\u0041", "\\u0000", "\\uZZZZ", "\\x41", "\\"]
        )
        return f'{{"model": "{model}", "messages": [{{"role": "user", "content": "{CANARY}{text}"}}]}}'.encode()

    def broken() -> bytes:
        raw = dumps(base())
        return rng.choice([
            raw[: rng.randrange(1, len(raw))], raw + b"garbage", b"\xef\xbb\xbf" + raw, b"",
            b"null", b"[]", b'"string"', b"1", raw.replace(b":", b"=", 1), raw * 2,
            b"{" * 10, b"}", raw.replace(b'"', b"'"),
        ])  # fmt: skip

    def model_names() -> bytes:
        body = base()
        body["model"] = rng.choice([
            "emu/" + "a" * 300, "emu/a\r\nx-evil: 1", "emu/../../etc/passwd", "emu/%2e%2e/x",
            "emu/a?b=c#d", "emu/☃", "emu/\u0000", "http://169.254.169.254/", "emu//x",
            "emu/ space", "//evil.example/v1", "emu/a/../b", "emu/😀",
        ])  # fmt: skip
        return dumps(body)

    def types() -> bytes:
        return dumps(rng.choice([
            {"model": model, "messages": {"role": "user", "content": CANARY}},
            {"model": model, "messages": [[CANARY]]},
            {"model": model, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}, {"type": "text", "text": CANARY}]}]},
            {"model": model, "messages": [{"role": "user", "content": [{"type": "nope"}]}]},
            {"model": [model], "messages": [{"role": "user", "content": CANARY}]},
            {"model": model, "messages": [{"role": "assistant", "tool_calls": [{"id": 1}]}]},
            {"model": model, "messages": [{"role": "user", "content": CANARY}], "tool_choice": {"type": "function"}},
        ]))  # fmt: skip

    return [
        ("field", field_value), ("message", message_value), ("deep", deep),
        ("huge-array", huge_array), ("many-messages", many_messages), ("many-tools", many_tools),
        ("n", big_n), ("utf8", invalid_utf8), ("numbers", number_tokens),
        ("duplicate-keys", duplicate_keys), ("escapes", escapes), ("broken", broken),
        ("model-names", model_names), ("types", types),
    ]  # fmt: skip


def json_bodies(count: int, model: str, seed: int = 1) -> Iterator[tuple[str, bytes]]:
    """``count`` hostile chat bodies, cycling through every kind of mutation."""
    rng = random.Random(seed)
    mutations = _mutations(rng, model)
    for i in range(count):
        name, make = mutations[i % len(mutations)]
        yield name, make()


def json_fuzz(
    base_url: str, *, key: str, model: str, count: int, tally: Tally, seed: int = 1
) -> None:
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=TIMEOUT_S, headers=headers) as session:
        for name, raw in json_bodies(count, model, seed):
            path = "/v1/chat/completions"
            tally.judge(f"{name} {raw[:120]!r}", lambda raw=raw: session.post(path, content=raw))
