"""Key handling: digests at rest, bearer parsing, team model patterns."""

from __future__ import annotations

import pytest

from gateway.auth.keys import KeyStore
from gateway.config import parse_config
from gateway.errors import AuthenticationError

CONFIG = parse_config(
    """
admin: {master_key: "sk-master-0123456789"}
teams:
  a: {models: ["gpt-4o*", "local"]}
  b: {models: []}
keys:
  - {team: a, key: "sk-a-0123456789"}
  - {team: b, key: "sk-b-0123456789"}
""",
    env={},
)


def test_keys_are_held_as_digests_only() -> None:
    store = KeyStore(CONFIG)
    assert "sk-a-0123456789" not in repr(vars(store))
    principal = store.authenticate({"authorization": "Bearer sk-a-0123456789"})
    assert principal.team == "a" and principal.key_id.startswith("key_")
    assert "0123456789" not in repr(principal)


@pytest.mark.parametrize(
    "header", ["Bearer sk-nope", "bearer sk-a-012345678", "Token sk-a-0123456789", ""]
)
def test_rejects_bad_credentials(header: str) -> None:
    with pytest.raises(AuthenticationError):
        KeyStore(CONFIG).authenticate({"authorization": header})


def test_model_patterns() -> None:
    store = KeyStore(CONFIG)
    a = store.authenticate({"authorization": "Bearer sk-a-0123456789"})
    assert a.may_use("gpt-4o-mini") and a.may_use("local")
    assert not a.may_use("gpt-3.5") and not a.may_use("localx")
    b = store.authenticate({"authorization": "Bearer sk-b-0123456789"})
    assert not b.may_use("local")


def test_master_key_and_azure_header() -> None:
    store = KeyStore(CONFIG)
    assert store.is_master({"authorization": "Bearer sk-master-0123456789"})
    assert not store.is_master({"authorization": "Bearer sk-a-0123456789"})
    assert store.authenticate({"api-key": "sk-a-0123456789"}).team == "a"
