"""AI-content labels end to end: a real gateway, the OpenAI-wire emulator, the real SDK.

Every generated answer must carry the GB 45438 ``AIGC`` fields (ASCII-safe whatever the
producer's name), the AI-Disclosure marker and an Ed25519 binding; the verifier (library,
CLI and HTTP endpoint) must call it valid, and tampered once one character of the text,
the ProduceID or the signed time changes.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.labeling.keys import b64url, b64url_decode
from gateway.labeling.verify import Verifier
from tests.conftest import UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.labeling_support import (
    JWKS,
    flip_char,
    http_dump,
    keys_from_jwks,
    stream_capture,
)

PRODUCER = "示例智能科技有限公司 (Example AI Ltd.)"
TEAM_KEY = "sk-label-team-key-0123456789"
ZH_TEAM_KEY = "sk-label-zh-team-key-0123456789"
SUFFIX_TEAM_KEY = "sk-label-suffix-team-0123456789"
CACHED_TEAM_KEY = "sk-label-cached-team-0123456789"
USER = [{"role": "user", "content": "hello labelled world"}]
ZH_USER = [{"role": "user", "content": "请介绍一下你自己"}]


def label_config(upstream: str, key_file: Path) -> str:
    return f"""
providers:
  emu:
    kind: openai
    base_url: "{upstream}"
    api_key: "${{TEST_UPSTREAM_KEY}}"
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  text-embedding-3-small: {{targets: [{{provider: emu, model: text-embedding-3-small}}]}}
  truncated: {{targets: [{{provider: emu, model: emu-truncated-stream}}]}}
labeling:
  producer: "{PRODUCER}"
  key_file: "{key_file}"
teams:
  plain: {{}}
  prefixed:
    labeling: {{visible: {{position: prefix}}}}
  suffixed:
    labeling: {{visible: {{position: suffix, language: auto}}}}
  cached: {{cache: {{enabled: true}}}}
keys:
  - {{team: plain, key: "{TEAM_KEY}"}}
  - {{team: prefixed, key: "{ZH_TEAM_KEY}"}}
  - {{team: suffixed, key: "{SUFFIX_TEAM_KEY}"}}
  - {{team: cached, key: "{CACHED_TEAM_KEY}"}}
"""


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("label-key") / "keys" / "aigc.pem"


@pytest.fixture(scope="module")
def labelled(
    emulator: EmulatorServer, key_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        label_config(emulator.base_url, key_file),
        tmp_path_factory.mktemp("labelled"),
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    try:
        process.wait("/health/ready")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def http(labelled: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=labelled.url, headers={"authorization": f"Bearer {TEAM_KEY}"}, timeout=20
    ) as session:
        yield session


@pytest.fixture(scope="module")
def verifier(http: httpx.Client) -> Verifier:
    return Verifier(keys_from_jwks(http.get(JWKS).json()))


def _chat(http: httpx.Client, **extra: Any) -> httpx.Response:
    response = http.post(
        "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": USER, **extra}
    )
    assert response.status_code == 200, response.text
    return response


def _aigc(headers: httpx.Headers) -> dict[str, Any]:
    label: dict[str, Any] = json.loads(headers["aigc"])
    return label


# --- the label itself -------------------------------------------------------------------------


def test_answer_carries_gb45438_fields_ascii_encoded(http: httpx.Client) -> None:
    response = _chat(http)
    raw = dict(response.headers.raw)[b"aigc"]
    assert raw.isascii(), "non-ASCII must be escaped so any HTTP stack passes it"
    label = _aigc(response.headers)
    assert list(label) == [
        "Label",
        "ContentProducer",
        "ProduceID",
        "ReservedCode1",
        "ContentPropagator",
        "PropagateID",
        "ReservedCode2",
    ]
    assert label["Label"] == "1"
    assert label["ContentProducer"] == PRODUCER  # restored exactly by any JSON parser
    assert len(label["ProduceID"]) == 32
    assert label["ReservedCode1"].count(".") == 2  # a compact JWS
    assert label["ContentPropagator"] == label["PropagateID"] == label["ReservedCode2"] == ""


def test_ai_disclosure_marker(http: httpx.Client) -> None:
    disclosure = _chat(http).headers["ai-disclosure"]
    assert disclosure.isascii()
    members = dict(member.split("=", 1) for member in disclosure.split(", "))
    assert members["mode"] == "machine-generated"
    assert members["model"] == '"gpt-4o-mini-2024-07-18"'
    # RFC 9651 display string: UTF-8 percent-encoded, lower-case hex.
    assert members["provider"].startswith('%"%e7%a4%ba')
    assert members["date"].startswith("@") and int(members["date"][1:]) > 1_700_000_000


def test_produce_id_unique_per_answer(http: httpx.Client) -> None:
    ids = {_aigc(_chat(http).headers)["ProduceID"] for _ in range(5)}
    assert len(ids) == 5


def test_signed_claims_and_public_key(http: httpx.Client) -> None:
    response = _chat(http)
    label = _aigc(response.headers)
    header, payload, _ = label["ReservedCode1"].split(".")
    protected = json.loads(b64url_decode(header))
    claims = json.loads(b64url_decode(payload))
    jwks = http.get(JWKS).json()
    assert protected == {"alg": "EdDSA", "kid": jwks["keys"][0]["kid"], "typ": "aigc+jws"}
    assert claims["producer"] == PRODUCER
    assert claims["produce_id"] == label["ProduceID"]
    assert claims["model"] == response.json()["model"]
    assert claims["time"].endswith("Z")
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    descriptor = http.get("/.well-known/ai-content-label").json()
    assert descriptor["jwks_uri"] == JWKS and descriptor["producer"] == PRODUCER


def test_embeddings_are_not_labelled(http: httpx.Client) -> None:
    response = http.post(
        "/v1/embeddings", json={"model": "text-embedding-3-small", "input": "vectors"}
    )
    assert response.status_code == 200
    assert "aigc" not in response.headers


def test_errors_are_not_labelled(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"model": "nope", "messages": USER})
    assert response.status_code == 404
    assert "aigc" not in response.headers


# --- verification: valid / tampered / unsigned --------------------------------------------------


def test_completion_and_text_completion_verify(http: httpx.Client, verifier: Verifier) -> None:
    chat = _chat(http, n=2)
    assert verifier.verify(chat.headers, chat.content).result == "valid"
    text = http.post("/v1/completions", json={"model": "gpt-4o-mini", "prompt": "say hi"})
    assert text.status_code == 200
    verdict = verifier.verify(text.headers, text.content)
    assert verdict.result == "valid", verdict.reason


def _tamper_text(body: dict[str, Any]) -> None:
    message = body["choices"][0]["message"]
    message["content"] = flip_char(message["content"])


def _tamper_time(label: dict[str, Any]) -> None:
    header, payload, signature = label["ReservedCode1"].split(".")
    claims = json.loads(b64url_decode(payload))
    claims["time"] = flip_char(claims["time"], digit=True)
    label["ReservedCode1"] = ".".join(
        [header, b64url(json.dumps(claims, separators=(",", ":")).encode()), signature]
    )


@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("text", "text (SHA-256)"),
        ("produce-id", "ProduceID"),
        ("time", "signature"),
        ("producer", "ContentProducer"),
        ("model", "model"),
        ("signature", "signature"),
    ],
)
def test_tampered_completion(
    http: httpx.Client, verifier: Verifier, what: str, reason: str
) -> None:
    response = _chat(http)
    body = response.json()
    label = _aigc(response.headers)
    if what == "text":
        _tamper_text(body)
    elif what == "produce-id":
        label["ProduceID"] = flip_char(label["ProduceID"])
    elif what == "time":
        _tamper_time(label)
    elif what == "producer":
        label["ContentProducer"] = PRODUCER.replace("示例", "示範")
    elif what == "model":
        body["model"] = "gpt-4o"
    else:
        head, payload, signature = label["ReservedCode1"].split(".")
        label["ReservedCode1"] = f"{head}.{payload}.{flip_char(signature)}"
    headers = {"aigc": json.dumps(label), "content-type": "application/json"}
    verdict = verifier.verify(headers, json.dumps(body).encode())
    assert verdict.result == "tampered"
    assert reason in verdict.reason


def test_unsigned_completion(http: httpx.Client, verifier: Verifier) -> None:
    response = _chat(http)
    assert verifier.verify({}, response.content).result == "unsigned"
    other = Verifier([])  # a verifier that does not know the producer's key
    assert other.verify(response.headers, response.content).result == "tampered"


def test_stream_binding_before_done(http: httpx.Client, verifier: Verifier) -> None:
    headers, capture = stream_capture(http, {"model": "gpt-4o-mini", "messages": USER})
    assert json.loads(headers["aigc"])["ReservedCode1"] == ""  # the text is not known yet
    lines = [line for line in capture.decode().split("\n") if line]
    assert lines[-1] == "data: [DONE]"
    assert lines[-2].startswith(": aigc {")
    comment_label = json.loads(lines[-2][len(": aigc ") :])
    assert comment_label["ProduceID"] == json.loads(headers["aigc"])["ProduceID"]
    verdict = verifier.verify(headers, capture)
    assert verdict.result == "valid", verdict.reason
    # The capture alone (no headers) carries everything needed.
    assert verifier.verify({}, capture).result == "valid"


@pytest.mark.parametrize("what", ["text", "produce-id", "time", "cut-binding"])
def test_tampered_stream(http: httpx.Client, verifier: Verifier, what: str) -> None:
    headers, capture = stream_capture(http, {"model": "gpt-4o-mini", "messages": USER})
    lines = capture.decode().split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(": aigc "))
    label = json.loads(lines[index][len(": aigc ") :])
    if what == "text":
        at = next(i for i, line in enumerate(lines) if '"content":"echo' in line)
        lines[at] = lines[at].replace('"content":"echo', '"content":"acho')
    elif what == "produce-id":
        label["ProduceID"] = flip_char(label["ProduceID"])
        headers = {k: v for k, v in headers.items() if k != "aigc"}
    elif what == "time":
        _tamper_time(label)
    if what == "cut-binding":
        del lines[index]
    else:
        lines[index] = ": aigc " + json.dumps(label)
    verdict = verifier.verify(headers, "\n".join(lines).encode())
    assert verdict.result == ("unsigned" if what == "cut-binding" else "tampered"), verdict


def test_truncated_stream_has_no_binding(http: httpx.Client, verifier: Verifier) -> None:
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json={"model": "truncated", "messages": USER, "stream": True},
    ) as response:
        capture = response.read()
    assert b": aigc " not in capture
    assert verifier.verify(response.headers, capture).result == "unsigned"


# --- the real OpenAI SDK -------------------------------------------------------------------


def test_openai_sdk_parses_labelled_stream(labelled: GatewayProcess, http: httpx.Client) -> None:
    client = openai.OpenAI(base_url=labelled.url + "/v1", api_key=TEAM_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello labelled world"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    assert raw.parse().choices[0].message.content == "echo: hello labelled world"
    assert _aigc(raw.http_response.headers)["ContentProducer"] == PRODUCER


# --- visible notice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "messages", "stream", "expect"),
    [
        (TEAM_KEY, USER, False, "echo: hello labelled world"),
        (ZH_TEAM_KEY, ZH_USER, False, "本内容由人工智能生成。\n\necho: 请介绍一下你自己"),
        (ZH_TEAM_KEY, ZH_USER, True, "本内容由人工智能生成。\n\necho: 请介绍一下你自己"),
        (
            ZH_TEAM_KEY,
            USER,
            True,
            "This content was generated by AI.\n\necho: hello labelled world",
        ),
        (
            SUFFIX_TEAM_KEY,
            USER,
            False,
            "echo: hello labelled world\n\nThis content was generated by AI.",
        ),
        (SUFFIX_TEAM_KEY, ZH_USER, True, "echo: 请介绍一下你自己\n\n本内容由人工智能生成。"),
    ],
    ids=[
        "off-by-default",
        "prefix-zh",
        "prefix-zh-stream",
        "prefix-en-stream",
        "suffix-en",
        "suffix-zh-stream",
    ],
)
def test_visible_notice(
    labelled: GatewayProcess,
    verifier: Verifier,
    key: str,
    messages: list[dict[str, str]],
    stream: bool,
    expect: str,
) -> None:
    client = openai.OpenAI(base_url=labelled.url + "/v1", api_key=key, max_retries=0)
    if stream:
        chunks = list(
            client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        )  # type: ignore[arg-type]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=messages
        )  # type: ignore[arg-type]
        text = raw.parse().choices[0].message.content or ""
        # The signature covers the text with its notice: exactly what the client got.
        assert (
            verifier.verify(raw.http_response.headers, raw.http_response.content).result == "valid"
        )
    assert text == expect


# --- CLI and HTTP verification --------------------------------------------------------------


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "verify", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )


def test_cli_verify(http: httpx.Client, labelled: GatewayProcess, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(http.get(JWKS).text)
    response = _chat(http)
    saved = tmp_path / "answer.http"
    saved.write_bytes(http_dump(response))
    ok = _cli(str(saved), "--keys", str(jwks))
    assert (ok.returncode, ok.stdout.split(":")[0]) == (0, "valid"), ok.stderr
    # The gateway's own config names its key file: no --keys needed.
    with_config = _cli(str(saved), "--config", str(labelled.config_path))
    assert with_config.returncode == 0, with_config.stdout + with_config.stderr

    body = response.json()
    _tamper_text(body)
    tampered = tmp_path / "tampered.http"
    tampered.write_bytes(http_dump(response, body=json.dumps(body).encode()))
    bad = _cli(str(tampered), "--keys", str(jwks))
    assert (bad.returncode, bad.stdout.split(":")[0]) == (1, "tampered")

    # Headers saved apart (curl -D) and a body without any label.
    headers_file = tmp_path / "headers.txt"
    headers_file.write_bytes(http_dump(response).split(b"\r\n\r\n")[0])
    body_file = tmp_path / "body.json"
    body_file.write_bytes(response.content)
    assert _cli(str(body_file), "--headers", str(headers_file), "--keys", str(jwks)).returncode == 0
    unsigned = _cli(str(body_file), "--keys", str(jwks))
    assert (unsigned.returncode, unsigned.stdout.split(":")[0]) == (3, "unsigned")

    # A stream capture from stdin, verdict as JSON.
    _, capture = stream_capture(http, {"model": "gpt-4o-mini", "messages": USER})
    streamed = _cli("-", "--keys", str(jwks), "--json", stdin=capture)
    assert streamed.returncode == 0 and json.loads(streamed.stdout)["result"] == "valid"


def test_http_verify_endpoint(http: httpx.Client) -> None:
    response = _chat(http)
    ok = http.post("/labels/verify", content=http_dump(response)).json()
    assert ok["result"] == "valid" and ok["label"]["ContentProducer"] == PRODUCER
    envelope = {"headers": dict(response.headers), "body": response.json()}
    assert http.post("/labels/verify", json=envelope).json()["result"] == "valid"
    envelope["body"]["choices"][0]["message"]["content"] += "!"
    assert http.post("/labels/verify", json=envelope).json()["result"] == "tampered"
    assert http.post("/labels/verify", content=response.content).json()["result"] == "unsigned"


# --- the key ---------------------------------------------------------------------------------


def test_key_persisted_and_reused(
    emulator: EmulatorServer, labelled: GatewayProcess, key_file: Path, tmp_path: Path
) -> None:
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    first_kid = httpx.get(labelled.url + JWKS).json()["keys"][0]["kid"]
    again = GatewayProcess(
        label_config(emulator.base_url, key_file), tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}
    )
    try:
        again.wait()
        assert httpx.get(again.url + JWKS).json()["keys"][0]["kid"] == first_kid
    finally:
        again.stop()


def test_key_from_config(emulator: EmulatorServer, tmp_path: Path) -> None:
    seed = base64.b64encode(bytes(range(32))).decode()
    config = label_config(emulator.base_url, tmp_path / "unused.pem").replace(
        "  key_file:", f'  signing_key: "{seed}"\n  verify_keys: ["{_other_public()}"]\n  #'
    )
    process = GatewayProcess(config, tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY})
    try:
        process.wait()
        keys = httpx.get(process.url + JWKS).json()["keys"]
        assert len(keys) == 2  # its own, then the extra verification key
        assert not (tmp_path / "unused.pem").exists()
    finally:
        process.stop()
    (tmp_path / "bad").mkdir()
    bad = GatewayProcess(
        config.replace(seed, "not-a-key"), tmp_path / "bad", env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}
    )
    assert bad.process.wait(30) != 0
    assert "labeling.signing_key" in bad.logs()
    bad.stop()


def _other_public() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode()


def test_no_visible_notice_on_json_answers(labelled: GatewayProcess, verifier: Verifier) -> None:
    client = openai.OpenAI(base_url=labelled.url + "/v1", api_key=SUFFIX_TEAM_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=USER, response_format={"type": "json_object"}
    )
    content = raw.parse().choices[0].message.content or ""
    assert json.loads(content) == {"echo": "hello labelled world"}  # still parses
    assert verifier.verify(raw.http_response.headers, raw.http_response.content).result == "valid"


@pytest.mark.parametrize("stream", [False, True], ids=["completion", "stream"])
def test_cached_answers_are_labelled(
    labelled: GatewayProcess, verifier: Verifier, stream: bool
) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"cache {stream}"}]}
    seen = []
    with httpx.Client(
        base_url=labelled.url, headers={"authorization": f"Bearer {CACHED_TEAM_KEY}"}, timeout=20
    ) as session:
        for expected in ("miss", "hit"):
            if stream:
                headers, content = stream_capture(session, body)
            else:
                response = session.post("/v1/chat/completions", json=body)
                headers, content = dict(response.headers), response.content
            assert headers["x-gateway-cache"] == expected
            verdict = verifier.verify(headers, content)
            assert verdict.result == "valid", verdict.reason
            assert verdict.label is not None
            seen.append(verdict.label["ProduceID"])
    assert seen[0] != seen[1]  # each delivery is its own labelled answer
