"""Auth, isolation, SSRF and header injection, tried from the outside.

- Every ``/admin`` route (read from the gateway's own OpenAPI document, so a new route
  is covered the day it is added) needs the master key: 401 without a key or with a
  wrong one, 403 with a team key (usage reads excepted: a team key sees its own team's
  usage and nothing else, whatever filters it sends).
- A team's key never reads, spends or purges another team's data, and no cache path
  (chat, completions, embeddings, streams) answers one team with another's entry.
- No request can steer the gateway to a URL or provider that is not in the config:
  model names, headers and body fields are tried as vectors against a canary listener
  that must never see a connection, and the upstream sees only its configured paths.
- CR/LF can reach no header the gateway sends, upstream or back to the client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess
from tests.emulators.connection_counter import ConnectionCounter
from tests.emulators.openai_upstream import EmulatorServer
from tests.faults_support import gateway_process
from tests.wire import assert_error

KEY_A = "sk-security-team-a-0123456789"
KEY_B = "sk-security-team-b-0123456789"
ALLOWED_UPSTREAM_PATHS = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models"}


@pytest.fixture(scope="module")
def canary() -> Iterator[ConnectionCounter]:
    """Stands for an internal service a client might try to steer the gateway to."""
    listener = ConnectionCounter()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def gw(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = f"""
admin: {{master_key: "{MASTER_KEY}"}}
accounting: {{flush_interval_s: 0.02}}
cache: {{enabled: true}}
providers:
  emu: {{kind: openai, base_url: "{emulator.base_url}", api_key: "{UPSTREAM_KEY}", health: null}}
  azure: {{kind: azure, base_url: "{emulator.root_url}", api_key: "{UPSTREAM_KEY}", health: null}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  text-embedding-3-small: {{targets: [{{provider: emu, model: text-embedding-3-small}}]}}
  "emu/*": {{targets: [{{provider: emu, model: "*"}}]}}
  "az/*": {{targets: [{{provider: azure, model: "*"}}]}}
teams:
  a: {{models: ["*"]}}
  b: {{models: ["*"]}}
keys:
  - {{team: a, key: "{KEY_A}"}}
  - {{team: b, key: "{KEY_B}"}}
"""
    with gateway_process(config, tmp_path_factory.mktemp("security")) as process:
        yield process


def as_key(gw: GatewayProcess, key: str | None) -> httpx.Client:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=gw.url, headers=headers, timeout=20)


def admin_routes(gw: GatewayProcess) -> list[tuple[str, str]]:
    document = httpx.get(gw.url + "/openapi/openapi.json").json()
    routes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "a", path))
        for path, item in document["paths"].items()
        if path.startswith("/admin")
        for method in item
    ]
    assert len(routes) >= 16, routes  # teams, keys, usage, cache
    return routes


USAGE_READS = {"/admin/usage", "/admin/usage/records", "/admin/usage/export"}


@pytest.mark.parametrize(
    ("who", "key"),
    [("no-key", None), ("wrong-key", "sk-wrong-key-0123456789"), ("team-key", KEY_A)],
)
def test_every_admin_route_needs_the_master_key(
    gw: GatewayProcess, who: str, key: str | None
) -> None:
    with as_key(gw, key) as http:
        for method, path in admin_routes(gw):
            if who == "team-key" and method == "GET" and path in USAGE_READS:
                continue  # a team's own usage: below
            response = http.request(
                method,
                path,
                json={"name": "x", "team": "b"} if method in ("POST", "PATCH") else None,
            )
            assert_error(response, 403 if who == "team-key" else 401)
    with as_key(gw, MASTER_KEY) as http:
        for method, path in admin_routes(gw):
            if method == "GET":
                assert http.request(method, path).status_code not in (401, 403), path


def test_a_team_key_reads_only_its_own_usage(gw: GatewayProcess) -> None:
    with as_key(gw, KEY_B) as b:
        theirs = b.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "b's secret"}]},
            headers={"x-request-id": "team-b-request"},
        )
        assert theirs.status_code == 200
    with as_key(gw, MASTER_KEY) as master:
        b_key_id = next(
            k["id"] for k in master.get("/admin/keys").json()["data"] if k["team"] == "b"
        )
        assert master.get("/admin/usage/records", params={"request_id": "team-b-request"}).json()[
            "data"
        ]
    with as_key(gw, KEY_A) as a:
        for path in sorted(USAGE_READS):
            assert_error(a.get(path, params={"team": "b"}), 403)
            for params in (
                {"key": b_key_id},
                {"request_id": "team-b-request"},
                {"model": "gpt-4o-mini"},
            ):
                response = a.get(path, params=params)
                assert response.status_code == 200, (path, params, response.text)
                assert "team-b-request" not in response.text and '"b"' not in response.text, path


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": "gpt-4o-mini", "temperature": 0,
                                  "messages": [{"role": "user", "content": "isolation-chat"}]}),
        ("/v1/chat/completions", {"model": "gpt-4o-mini", "temperature": 0, "stream": True,
                                  "messages": [{"role": "user", "content": "isolation-stream"}]}),
        ("/v1/completions", {"model": "gpt-4o-mini", "temperature": 0, "prompt": "isolation-legacy"}),
        ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "isolation-embeddings"}),
    ],
    ids=["chat", "stream", "completions", "embeddings"],
)  # fmt: skip
def test_no_cache_path_crosses_teams(gw: GatewayProcess, path: str, body: dict[str, Any]) -> None:
    with as_key(gw, KEY_A) as a, as_key(gw, KEY_B) as b:
        assert a.post(path, json=body).headers["x-gateway-cache"] == "miss"
        hit = None
        for _ in range(50):  # stored when the first request finishes
            hit = a.post(path, json=body).headers["x-gateway-cache"]
            if hit == "hit":
                break
        assert hit == "hit"
        assert b.post(path, json=body).headers["x-gateway-cache"] == "miss"
        # B cannot purge A's entries either.
        assert_error(b.delete("/admin/cache", params={"team": "a"}), 403)
        assert a.post(path, json=body).headers["x-gateway-cache"] == "hit"


SSRF_MODELS = [
    "http://127.0.0.1:{port}/v1",
    "//127.0.0.1:{port}/v1",
    "emu/http://127.0.0.1:{port}/v1",
    "emu/../../../127.0.0.1:{port}",
    "emu/..%2f..%2f127.0.0.1:{port}",
    "az/..",
    "az/../../v1/chat/completions?x=",
    "az/x#@127.0.0.1:{port}",
    "emu/@127.0.0.1:{port}",
    "emu/a\r\nhost: 127.0.0.1:{port}",
]
SSRF_HEADERS = [
    "host", "x-forwarded-host", "x-forwarded-for", "forwarded", "x-original-url",
    "x-rewrite-url", "x-upstream", "x-base-url", "openai-base-url", "x-forwarded-proto",
]  # fmt: skip
SSRF_FIELDS = ["base_url", "api_base", "url", "endpoint", "provider", "azure_endpoint", "host"]


def test_no_request_reaches_an_unconfigured_url(
    gw: GatewayProcess, emulator: EmulatorServer, canary: ConnectionCounter
) -> None:
    target = f"http://127.0.0.1:{canary.port}/v1"
    emulator.reset()
    with as_key(gw, KEY_A) as http:
        for model in SSRF_MODELS:
            body = {
                "model": model.format(port=canary.port),
                "messages": [{"role": "user", "content": "x"}],
            }
            response = http.post("/v1/chat/completions", json=body)
            assert response.status_code in (200, 400, 404), (model, response.text)
        for header in SSRF_HEADERS:
            value = (
                f"127.0.0.1:{canary.port}"
                if header != "forwarded"
                else f"host=127.0.0.1:{canary.port}"
            )
            response = http.post(
                "/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": header}]},
                headers={header: value},
            )
            assert response.status_code in (200, 400), (header, response.text)
        for field in SSRF_FIELDS:
            body = {
                "model": "gpt-4o-mini",
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": target}}],
                    }
                ],
                field: target,
                "extra_headers": {"host": f"127.0.0.1:{canary.port}"},
            }
            assert http.post("/v1/chat/completions", json=body).status_code == 200, field
    assert canary.count == 0, "the gateway connected to an unconfigured address"
    for seen in emulator.requests:
        path = seen["path"]
        assert path in ALLOWED_UPSTREAM_PATHS or path.startswith("/openai/deployments/"), path
        if path.startswith("/openai/deployments/"):
            deployment = path.split("/")[3]
            assert deployment not in ("", ".", ".."), path


def test_no_header_injection_upstream_or_back(gw: GatewayProcess, emulator: EmulatorServer) -> None:
    emulator.reset()
    attempts = {
        "x-request-id": "abc\u2028x-injected: 1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 x-injected: 1",
        "tracestate": "a=b\tx-injected: 1",
        "x-session-id": "s\u0085x-injected: 1",
    }
    with as_key(gw, KEY_A) as http:
        for name, value in attempts.items():
            response = http.post(
                "/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": name}]},
                headers={name: value.encode("utf-8")},
            )
            assert response.status_code in (200, 400), (name, response.text)
            assert "x-injected" not in response.headers
            assert "x-injected" not in response.headers.get("x-request-id", "")
        for model in ("emu/a\r\nx-injected: 1", "emu/a\nx-injected: 1", "az/a\r\nx-injected: 1"):
            body = {"model": model, "messages": [{"role": "user", "content": "x"}]}
            response = http.post("/v1/chat/completions", json=body)
            assert_error(response, 404, "model_not_found")
            assert "x-injected" not in response.headers
    for seen in emulator.requests:
        assert "x-injected" not in seen["headers"], seen["headers"]
        assert all("\r" not in v and "\n" not in v for v in seen["headers"].values())


def test_a_provider_header_with_a_line_break_is_a_config_error() -> None:
    from gateway.config import ConfigError, parse_config

    text = """
providers:
  p: {kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: "${KEY}"}
"""
    with pytest.raises(ConfigError, match=r"providers\.p\.api_key"):
        parse_config(text, env={"KEY": "sk-abc\r\nx-injected: 1"})
