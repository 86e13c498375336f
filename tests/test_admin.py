"""The admin API and ``gateway keys``: teams, keys (shown once, hashed at rest, revoked
everywhere within a second), isolation between teams, usage reports, restarts."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.accounting_helpers import (
    CAPPED_KEY,
    FREE_KEY,
    OTHER_KEY,
    accounting_config,
    admin,
    chat,
    embedded_state,
    start_gateway,
    wait_record,
)
from tests.conftest import MASTER_KEY, GatewayProcess, RedisServer, wait_until
from tests.emulators.silent_upstream import SilentServer
from tests.wire import assert_error


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gw(emulator, silent, tmp_path_factory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("admin")
    gateway = start_gateway(
        accounting_config(emulator.base_url, silent.base_url, state=embedded_state(tmp)), tmp
    )
    yield gateway
    gateway.stop()


@pytest.fixture
def master(gw) -> Iterator[httpx.Client]:
    with admin(gw) as client:
        yield client


def _call(gateway: GatewayProcess, key: str, **extra: object) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        json=chat(**extra),  # type: ignore[arg-type]
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    )


def _refused_within(gateway: GatewayProcess, key: str, seconds: float) -> float:
    """Seconds until the key is refused; fails if it still works after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds + 1:
        if _call(gateway, key).status_code == 401:
            elapsed = time.monotonic() - started
            assert elapsed < seconds, f"refused only after {elapsed:.2f}s"
            return elapsed
        time.sleep(0.02)
    pytest.fail(f"key still accepted after {seconds + 1}s")


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 401), ("sk-wrong-0123456789", 401), (FREE_KEY, 403), (MASTER_KEY, 200)],
    ids=["no-key", "bad-key", "team-key", "master"],
)
def test_admin_needs_the_master_key(gw, key: str | None, status: int) -> None:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    for path in ("/admin/teams", "/admin/keys"):
        response = httpx.get(gw.url + path, headers=headers)
        if status == 200:
            assert response.status_code == 200
        else:
            assert_error(response, status)


def test_teams_crud(master) -> None:
    created = master.post(
        "/admin/teams", json={"name": "research", "models": ["gpt-4o-mini"], "budget_usd": 5}
    )
    assert created.status_code == 201, created.text
    assert created.json()["budget_usd"] == 5 and created.json()["source"] == "admin"
    assert_error(master.post("/admin/teams", json={"name": "research"}), 409, "conflict")
    assert_error(master.post("/admin/teams", json={"name": "free"}), 409, "conflict")
    bad = assert_error(master.post("/admin/teams", json={"name": "x", "budget_usd": -1}), 400)
    assert bad["error"]["param"] == "budget_usd"
    assert_error(master.post("/admin/teams", json={"name": "x", "colour": "red"}), 400)
    assert_error(master.post("/admin/teams", json={"name": "bad name!"}), 400)
    patched = master.patch(
        "/admin/teams/research", json={"budget_usd": 7, "budget_period": "daily"}
    )
    assert patched.json()["budget_usd"] == 7 and patched.json()["models"] == ["gpt-4o-mini"]
    view = master.get("/admin/teams/research").json()
    assert view["spend"] == {
        "period": "daily",
        "period_id": view["spend"]["period_id"],
        "spent_usd": 0.0,
        "held_usd": 0.0,
        "budget_usd": 7,
        "remaining_usd": 7,
    }
    names = {t["name"]: t["source"] for t in master.get("/admin/teams").json()["data"]}
    assert names == {"capped": "config", "free": "config", "other": "config", "research": "admin"}
    assert_error(master.patch("/admin/teams/free", json={"budget_usd": 1}), 409, "conflict")
    assert_error(master.get("/admin/teams/nope"), 404)


def test_key_lifecycle_shown_once_then_revoked(gw, master) -> None:
    master.post("/admin/teams", json={"name": "lifecycle"})
    created = master.post("/admin/keys", json={"team": "lifecycle", "name": "ci"})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    key_id = created.json()["id"]
    assert key.startswith("sk-gw-") and created.json()["prefix"] == key[:10] + "…"
    listing = master.get("/admin/keys", params={"team": "lifecycle"})
    assert key not in listing.text and key_id in listing.text
    assert master.get(f"/admin/keys/{key_id}").json()["status"] == "active"
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
    assert client.chat.completions.create(**chat()).choices[0].message.content
    assert master.post(f"/admin/keys/{key_id}/revoke").json()["status"] == "revoked"
    _refused_within(gw, key, 1.0)
    assert_error(_call(gw, key), 401, "invalid_api_key")


def test_keys_are_stored_as_digests_only(gw, master) -> None:
    import hashlib

    master.post("/admin/teams", json={"name": "hashed"})
    key = master.post("/admin/keys", json={"team": "hashed"}).json()["key"]
    assert _call(gw, key).status_code == 200
    files = list(Path(gw.config_path).parent.glob("state.db*"))
    stored = b"".join(path.read_bytes() for path in files)
    assert hashlib.sha256(key.encode()).hexdigest().encode() in stored
    assert key.encode() not in stored and key[10:].encode() not in stored


def test_rotation_keeps_the_budget_and_retires_the_old_key(gw, master) -> None:
    master.post("/admin/teams", json={"name": "rotating"})
    old = master.post("/admin/keys", json={"team": "rotating", "budget_usd": 100}).json()
    assert _call(gw, old["key"], text="spend a little").status_code == 200
    spent = wait_until(lambda: master.get(f"/admin/keys/{old['id']}").json()["spend"]["spent_usd"])
    new = master.post(f"/admin/keys/{old['id']}/rotate", json={}).json()
    assert new["rotated_from"] == old["id"] and new["budget_usd"] == 100
    assert _call(gw, new["key"]).status_code == 200
    _refused_within(gw, old["key"], 1.0)
    assert master.get(f"/admin/keys/{new['id']}").json()["spend"]["spent_usd"] >= spent


def test_expired_keys_are_refused(gw, master) -> None:
    master.post("/admin/teams", json={"name": "shortlived"})
    key = master.post("/admin/keys", json={"team": "shortlived", "expires_in_s": 1}).json()["key"]
    assert _call(gw, key).status_code == 200
    time.sleep(1.1)
    assert_error(_call(gw, key), 401, "expired_api_key")


def test_key_budget_is_enforced(gw, master) -> None:
    master.post("/admin/teams", json={"name": "keybudget"})
    # At the test price one request costs about $0.008 and reserves $0.014: two do not fit.
    key = master.post("/admin/keys", json={"team": "keybudget", "budget_usd": 0.02}).json()
    assert _call(gw, key["key"], max_tokens=5).status_code == 200
    refused = assert_error(_call(gw, key["key"], max_tokens=5), 429, "insufficient_quota")
    assert key["id"] in refused["error"]["message"]


def test_a_team_key_reads_and_spends_for_its_own_team_only(gw) -> None:
    response = _call(gw, OTHER_KEY, text="mine")
    rid = response.headers["x-request-id"]
    assert wait_record(gw, rid)["team"] == "other"
    # Headers cannot move the charge elsewhere.
    spoof = httpx.post(
        gw.url + "/v1/chat/completions",
        json=chat(user="free"),
        timeout=20,
        headers={
            "authorization": f"Bearer {OTHER_KEY}",
            "x-team": "free",
            "openai-organization": "free",
            "x-request-id": "spoof",
        },
    )
    assert spoof.status_code == 200 and wait_record(gw, "spoof")["team"] == "other"
    assert_error(_call(gw, OTHER_KEY, model="slow"), 403)
    with admin(gw, OTHER_KEY) as own:
        assert_error(own.get("/admin/usage", params={"team": "free"}), 403)
        assert_error(own.get("/admin/usage/export", params={"team": "free"}), 403)
        report = own.get("/admin/usage", params={"group_by": "team"}).json()
        assert [g["team"] for g in report["groups"]] == ["other"]
        records = own.get("/admin/usage/records").json()["data"]
        assert records and {r["team"] for r in records} == {"other"}


def test_usage_report_and_csv_export(gw, master) -> None:
    for text in ("one", "two words", "three more words"):
        # max_tokens keeps the worst case (default 4096 output tokens) inside the budget
        assert _call(gw, CAPPED_KEY, text=text, max_tokens=10).status_code == 200
    rid = _call(gw, FREE_KEY).headers["x-request-id"]
    wait_record(gw, rid)
    report = master.get("/admin/usage", params={"group_by": "team,model"}).json()
    records = master.get("/admin/usage/records").json()["data"]
    assert report["totals"]["requests"] == len(records)
    assert report["totals"]["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in records))
    capped = [g for g in report["groups"] if g["team"] == "capped"]
    assert capped and capped[0]["model"] == "gpt-4o-mini" and capped[0]["requests"] >= 3
    only = master.get("/admin/usage", params={"team": "capped", "model": "gpt-4o-mini"}).json()
    assert only["totals"]["requests"] == capped[0]["requests"]
    future = master.get("/admin/usage", params={"start": time.time() + 3600}).json()
    assert future["totals"]["requests"] == 0 and future["groups"] == []
    iso = master.get(
        "/admin/usage", params={"start": "2000-01-01T00:00:00Z", "end": time.time() + 1}
    )
    assert iso.json()["totals"]["requests"] == len(records)
    assert_error(master.get("/admin/usage", params={"group_by": "colour"}), 400)
    assert_error(master.get("/admin/usage", params={"start": "yesterday"}), 400)
    export = master.get("/admin/usage/export", params={"team": "capped"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == capped[0]["requests"]
    assert {r["team"] for r in rows} == {"capped"}
    assert sum(float(r["cost_usd"]) for r in rows) == pytest.approx(capped[0]["cost_usd"])


def _cli(gw: GatewayProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "keys", *args, "--config", str(gw.config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(gw.config_path).parent,
    )


def test_cli_creates_lists_and_revokes_keys(gw) -> None:
    created = _cli(gw, "create", "--team", "free", "--name", "from-cli", "--quiet")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert _call(gw, key).status_code == 200
    listing = _cli(gw, "list", "--team", "free")
    assert listing.returncode == 0 and key[:10] in listing.stdout and key not in listing.stdout
    key_id = next(line.split()[0] for line in listing.stdout.splitlines() if "from-cli" in line)
    revoked = _cli(gw, "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    _refused_within(gw, key, 1.0)
    assert _cli(gw, "create", "--team", "nobody").returncode == 1


# --- many replicas, restarts -------------------------------------------------------


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("admin-redis"), appendonly=True).start()
    yield server
    server.stop()


def test_keys_and_revocations_reach_every_replica(emulator, silent, shared_redis, tmp_path) -> None:
    config = accounting_config(
        emulator.base_url, silent.base_url, state=f'{{url: "{shared_redis.url}"}}'
    )
    a, b = (start_gateway(config, tmp_path / name) for name in ("a", "b"))
    try:
        with admin(a) as master:
            master.post("/admin/teams", json={"name": "fleet"})
            key = master.post("/admin/keys", json={"team": "fleet"}).json()
            # Created on A, used on B at once: B looks the unknown key up in Redis.
            assert _call(b, key["key"]).status_code == 200
            master.post(f"/admin/keys/{key['id']}/revoke")
        elapsed = _refused_within(b, key["key"], 1.0)
        print(f"\nrevocation seen by the other replica after {elapsed * 1000:.0f} ms")
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_restart_keeps_keys_teams_and_spend(
    emulator, silent, shared_redis, tmp_path, backend: str
) -> None:
    state = embedded_state(tmp_path) if backend == "embedded" else f'{{url: "{shared_redis.url}"}}'
    config = accounting_config(emulator.base_url, silent.base_url, state=state)
    first = start_gateway(config, tmp_path / "first")
    with admin(first) as master:
        master.post("/admin/teams", json={"name": f"keep-{backend}", "budget_usd": 50})
        key = master.post("/admin/keys", json={"team": f"keep-{backend}"}).json()
        assert _call(first, key["key"], text="remember me").status_code == 200

        def charged() -> dict[str, float] | None:
            spend = master.get(f"/admin/teams/keep-{backend}").json()["spend"]
            return spend if spend["spent_usd"] > 0 else None

        before = wait_until(charged)  # the ledger is written in batches after the answer
    assert first.stop() == 0
    if backend == "redis":  # Redis itself restarts too, from its append-only file
        shared_redis.stop()
        shared_redis.start()
    second = start_gateway(config, tmp_path / "second")
    try:
        with admin(second) as master:
            after = master.get(f"/admin/teams/keep-{backend}").json()["spend"]
            assert after["spent_usd"] == pytest.approx(before["spent_usd"])
            keys = master.get("/admin/keys", params={"team": f"keep-{backend}"}).json()["data"]
            assert [k["id"] for k in keys] == [key["id"]]
            records = master.get("/admin/usage/records", params={"team": f"keep-{backend}"}).json()[
                "data"
            ]
            assert len(records) == 1
        assert _call(second, key["key"]).status_code == 200
    finally:
        second.stop()
