"""Teams created through the admin API get their own guardrail policy, cache and label
settings, exactly as teams of the config file do, and changes apply without a restart."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.accounting_helpers import accounting_config, admin, chat, embedded_state, start_gateway
from tests.conftest import GatewayProcess, wait_until
from tests.emulators.silent_upstream import SilentServer
from tests.wire import assert_error

EXTRA = """
cache: {enabled: true}
guardrails:
  policies:
    strict:
      input:
        - name: codeword
          validator: gateway/sensitive_terms
          action: block
          options: {terms: ["Project Kestrel"]}
"""
NOTICE = "AI made this."


@pytest.fixture(scope="module")
def gw(emulator, tmp_path_factory) -> Iterator[GatewayProcess]:
    silent = SilentServer().start()
    tmp = tmp_path_factory.mktemp("team-settings")
    config = accounting_config(
        emulator.base_url, silent.base_url, state=embedded_state(tmp), extra=EXTRA
    )
    gateway = start_gateway(config, tmp)
    yield gateway
    gateway.stop()
    silent.stop()


@pytest.fixture
def master(gw) -> Iterator[httpx.Client]:
    with admin(gw) as client:
        yield client


def _team_key(master: httpx.Client, name: str, **settings: object) -> str:
    created = master.post("/admin/teams", json={"name": name, **settings})
    assert created.status_code == 201, created.text
    return str(master.post("/admin/keys", json={"team": name}).json()["key"])


def _call(gw: GatewayProcess, key: str, text: str = "hello there") -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/chat/completions",
        json=chat(text=text, temperature=0),
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    )


def test_guardrail_policy_of_a_stored_team_applies_and_follows_updates(gw, master) -> None:
    key = _team_key(master, "guarded", guardrails="strict")
    assert_error(_call(gw, key, "Tell me about Project Kestrel"), 400, code="content_filter")
    assert _call(gw, key, "Tell me about the weather").status_code == 200

    master.patch("/admin/teams/guarded", json={"guardrails": "off"})
    wait_until(lambda: _call(gw, key, "Tell me about Project Kestrel").status_code == 200)


def test_unknown_guardrail_policy_is_refused(master) -> None:
    response = master.post("/admin/teams", json={"name": "typo", "guardrails": "strikt"})
    error = assert_error(response, 400)["error"]
    assert error["param"] == "guardrails" and "'strict'" in error["message"]


def test_cache_settings_of_a_stored_team_apply(gw, master) -> None:
    cached = _team_key(master, "cached")
    uncached = _team_key(master, "uncached", cache={"enabled": False})
    for key, second in ((cached, "hit"), (uncached, None)):
        text = f"what is the answer for {second}?"
        first = _call(gw, key, text)
        assert first.status_code == 200
        again = _call(gw, key, text)
        assert again.headers.get("x-gateway-cache") == second


def test_visible_label_of_a_stored_team_applies(gw, master) -> None:
    visible = {"position": "suffix", "language": "en", "text": {"en": NOTICE}}
    labelled = _team_key(master, "labelled", labeling={"visible": visible})
    plain = _team_key(master, "plain")
    answer = _call(gw, labelled).json()["choices"][0]["message"]["content"]
    assert answer.endswith(NOTICE)
    assert NOTICE not in _call(gw, plain).json()["choices"][0]["message"]["content"]
