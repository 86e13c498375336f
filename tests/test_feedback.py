"""The feedback flywheel: rating one's own requests, refusing another team's, and the
fine-tuning export (round-tripped through the JSONL format validator)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.finetune_format import validate
from tests.pipeline_support import (
    FLAG_KEY,
    PII_KEY,
    PLAIN_KEY,
    admin,
    chat,
    pipeline_gateway,  # noqa: F401 (fixture)
)


def _ask(url: str, key: str, rid: str, text: str, *, stream: bool = False) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are the support assistant."},
            {"role": "user", "content": text},
        ],
        "stream": stream,
    }
    response = chat(url, body, key, headers={"x-request-id": rid})
    assert response.status_code == 200, response.text


def _rate(url: str, key: str, **body: object) -> httpx.Response:
    return httpx.post(url + "/feedback", json=body, headers={"authorization": f"Bearer {key}"})


def test_a_team_rates_its_own_request(pipeline_gateway: GatewayProcess) -> None:  # noqa: F811
    url = pipeline_gateway.url
    _ask(url, FLAG_KEY, "fb-own-1", "how do I reset my password?")
    response = _rate(url, FLAG_KEY, request_id="fb-own-1", rating="bad", correction="Use the link.")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "object": "feedback",
        "request_id": "fb-own-1",
        "rating": "bad",
        "correction": True,
    }
    again = httpx.post(
        url + "/v1/feedback",
        json={"request_id": "fb-own-1", "rating": "good"},
        headers={"authorization": f"Bearer {FLAG_KEY}"},
    )
    assert again.status_code == 200


def test_another_teams_request_is_refused_like_an_unknown_one(
    pipeline_gateway: GatewayProcess,  # noqa: F811
) -> None:
    url = pipeline_gateway.url
    _ask(url, FLAG_KEY, "fb-team-one-only", "what are your opening hours?")
    foreign = _rate(url, PLAIN_KEY, request_id="fb-team-one-only", rating="bad")
    unknown = _rate(url, PLAIN_KEY, request_id="fb-no-such-request", rating="bad")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == "request_not_found"
    assert foreign.json()["error"]["message"].replace("fb-team-one-only", "X") == unknown.json()[
        "error"
    ]["message"].replace("fb-no-such-request", "X")
    # Nothing was stored for either team.
    exported = admin(url, "GET", "/admin/feedback/export", params={"team": "two", "rating": "all"})
    assert exported.headers["x-gateway-export-examples"] == "0"
    assert exported.headers["x-gateway-export-missing-content"] == "0"


@pytest.mark.parametrize(
    ("key", "body", "status", "param"),
    [
        (FLAG_KEY, {"request_id": "x", "rating": "meh"}, 400, "rating"),
        (FLAG_KEY, {"rating": "bad"}, 400, "request_id"),
        (FLAG_KEY, {"request_id": "x", "rating": "bad", "stars": 5}, 400, None),
        (FLAG_KEY, [1, 2], 400, None),
        (MASTER_KEY, {"request_id": "x", "rating": "bad"}, 403, None),
        ("sk-not-a-key-000000000", {"request_id": "x", "rating": "bad"}, 401, None),
    ],
    ids=["bad-rating", "no-request-id", "unknown-field", "not-an-object", "master-key", "bad-key"],
)
def test_bad_feedback_gets_openai_errors(
    pipeline_gateway: GatewayProcess,  # noqa: F811
    key: str,
    body: object,
    status: int,
    param: str | None,
) -> None:
    response = httpx.post(
        pipeline_gateway.url + "/feedback", json=body, headers={"authorization": f"Bearer {key}"}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if param is not None:
        assert error["param"] == param


def test_export_round_trips_through_the_finetuning_validator(
    pipeline_gateway: GatewayProcess,  # noqa: F811
) -> None:
    url = pipeline_gateway.url
    email, phone = "li.wei@example.com", "+86 138 0013 8000"
    _ask(url, PII_KEY, "fb-pii-1", f"my email is {email}, why was I charged twice?")
    _ask(url, PII_KEY, "fb-pii-2", "cancel my order please", stream=True)
    _ask(url, PII_KEY, "fb-pii-3", "thanks!")
    assert (
        _rate(
            url,
            PII_KEY,
            request_id="fb-pii-1",
            rating="bad",
            correction=f"We refunded you; call {phone}.",
        ).status_code
        == 200
    )
    assert _rate(url, PII_KEY, request_id="fb-pii-2", rating="bad").status_code == 200
    assert _rate(url, PII_KEY, request_id="fb-pii-3", rating="good").status_code == 200

    response = admin(url, "GET", "/admin/feedback/export", params={"team": "pii", "rating": "bad"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    examples, errors = validate(response.content)
    assert not errors, errors
    assert len(examples) == 2 == int(response.headers["x-gateway-export-examples"])
    assert email not in response.text and "138 0013" not in response.text
    first, second = examples
    messages = first["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]  # type: ignore[index]
    assert "[EMAIL_1]" in messages[1]["content"]  # type: ignore[index]
    assert messages[2]["content"].startswith("We refunded you; call [PHONE")  # type: ignore[index]
    # Bad and uncorrected: the original (streamed) answer, kept for review, not trained on.
    assert second["messages"][-1] == {  # type: ignore[index]
        "role": "assistant",
        "content": "echo: cancel my order please",
        "weight": 0,
    }
    assert "retain_content" in response.headers["x-gateway-export-note"]


def test_export_without_retained_text_says_so(pipeline_gateway: GatewayProcess) -> None:  # noqa: F811
    url = pipeline_gateway.url
    _ask(url, PLAIN_KEY, "fb-plain-1", "hello")
    assert _rate(url, PLAIN_KEY, request_id="fb-plain-1", rating="bad").status_code == 200
    response = admin(url, "GET", "/admin/feedback/export", params={"team": "two"})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-gateway-export-missing-content"] == "1"
    assert "team two has it off" in response.headers["x-gateway-export-note"]


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 400), ({"team": "nobody"}, 404), ({"team": "one", "rating": "meh"}, 400)],
    ids=["no-team", "unknown-team", "bad-rating"],
)
def test_export_refuses_bad_queries(
    pipeline_gateway: GatewayProcess,  # noqa: F811
    params: dict[str, str],
    status: int,
) -> None:
    response = admin(pipeline_gateway.url, "GET", "/admin/feedback/export", params=params)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    team_key = httpx.get(
        pipeline_gateway.url + "/admin/feedback/export",
        params={"team": "one"},
        headers={"authorization": f"Bearer {FLAG_KEY}"},
    )
    assert team_key.status_code == 403
