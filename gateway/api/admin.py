"""The admin API under /admin: teams, keys, usage. Master key only, except usage reads,
which a team's own key may make for its own team (and no other).

Handlers stay thin: authenticate, decode, call ``auth.manage`` / ``accounting.reports``,
render. Errors use OpenAI's error shape like the rest of the gateway.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, delete, get, patch, post
from litestar.params import FromPath
from litestar.response import Stream

from gateway.accounting import reports
from gateway.accounting.periods import Periods
from gateway.accounting.service import Accounting
from gateway.api.errors import error_response
from gateway.api.master import answer, caller, json_ok, read_body, require_master
from gateway.api.responses import request_id
from gateway.api.services import services
from gateway.auth.manage import budget_period, key_view, parse_time
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    PermissionDeniedError,
)
from gateway.state.base import StateError
from gateway.state.records import UsageQuery

AnyRequest = Request[Any, Any, Any]
_MAX_RECORDS = 10_000


# --- teams --------------------------------------------------------------------------


@get("/admin/teams")
async def list_teams(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        return json_ok({"object": "list", "data": await accounting.admin.list_teams()})

    return await answer(request, handle)


@post("/admin/teams", status_code=201)
async def create_team(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        body = await read_body(request)
        name = body.pop("name", "")
        return json_ok(await accounting.admin.create_team(name, body), 201)

    return await answer(request, handle)


@get("/admin/teams/{name:str}")
async def get_team(request: AnyRequest, name: FromPath[str]) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        view = await accounting.admin.get_team(name)
        settings = await accounting.admin.team_settings(name)
        usd = settings.budget_usd if settings else None
        period = budget_period(settings.budget_period if settings else None, _default(accounting))
        scope = "team:" + await accounting.admin.team_id(name)
        view["spend"] = await _spend(accounting, scope, usd, period)
        return json_ok(view)

    return await answer(request, handle)


@patch("/admin/teams/{name:str}")
async def update_team(request: AnyRequest, name: FromPath[str]) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        body = await read_body(request)
        body.pop("name", None)
        return json_ok(await accounting.admin.update_team(name, body))

    return await answer(request, handle)


@delete("/admin/teams/{name:str}", status_code=200)
async def delete_team(request: AnyRequest, name: FromPath[str]) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        revoked = await accounting.admin.delete_team(name)
        return json_ok({"name": name, "object": "team", "deleted": True, "revoked_keys": revoked})

    return await answer(request, handle)


# --- keys ---------------------------------------------------------------------------


@get("/admin/keys")
async def list_keys(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        team = request.query_params.get("team")
        return json_ok({"object": "list", "data": await accounting.admin.list_keys(team)})

    return await answer(request, handle)


@post("/admin/keys", status_code=201)
async def create_key(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        body = await read_body(request)
        team = body.get("team")
        if not isinstance(team, str) or not team:
            raise InvalidRequestError("Missing required parameter: 'team'.", param="team")
        expires_at = parse_time(body.get("expires_at"), "expires_at")
        expires_in = body.get("expires_in_s")
        if expires_in is not None:
            if not isinstance(expires_in, int | float) or expires_in <= 0:
                raise InvalidRequestError("'expires_in_s' must be positive.", param="expires_in_s")
            expires_at = time.time() + float(expires_in)
        budget = body.get("budget_usd")
        if budget is not None and not isinstance(budget, int | float):
            raise InvalidRequestError("'budget_usd' must be a number.", param="budget_usd")
        record, secret = await accounting.admin.create_key(
            team,
            name=str(body.get("name") or ""),
            expires_at=expires_at,
            budget_usd=None if budget is None else float(budget),
            budget_period=body.get("budget_period"),
            limits=body.get("limits"),
        )
        return json_ok({**key_view(record), "key": secret}, 201)

    return await answer(request, handle)


@get("/admin/keys/{key_id:str}")
async def get_key(request: AnyRequest, key_id: FromPath[str]) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        record = await accounting.admin.get_key(key_id)
        view = key_view(record)
        period = budget_period(record.budget_period, _default(accounting))
        view["spend"] = await _spend(accounting, record.budget_scope, record.budget_usd, period)
        return json_ok(view)

    return await answer(request, handle)


@patch("/admin/keys/{key_id:str}")
async def update_key(request: AnyRequest, key_id: FromPath[str]) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        record = await accounting.admin.update_key(key_id, await read_body(request))
        return json_ok(key_view(record))

    return await answer(request, handle)


async def _revoke(request: AnyRequest, key_id: str) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        return json_ok(key_view(await accounting.admin.revoke_key(key_id)))

    return await answer(request, handle)


@post("/admin/keys/{key_id:str}/revoke", status_code=200)
async def revoke_key(request: AnyRequest, key_id: FromPath[str]) -> Response[bytes]:
    return await _revoke(request, key_id)


@delete("/admin/keys/{key_id:str}", status_code=200)
async def delete_key(request: AnyRequest, key_id: FromPath[str]) -> Response[bytes]:
    """Same as revoke: the record stays, for the ledger and audits."""
    return await _revoke(request, key_id)


@post("/admin/keys/{key_id:str}/rotate", status_code=201)
async def rotate_key(request: AnyRequest, key_id: FromPath[str]) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        body = await read_body(request)
        grace = body.get("grace_s", 0)
        if not isinstance(grace, int | float) or grace < 0:
            raise InvalidRequestError("'grace_s' must be 0 or more.", param="grace_s")
        record, secret = await accounting.admin.rotate_key(key_id, float(grace))
        return json_ok({**key_view(record), "key": secret}, 201)

    return await answer(request, handle)


# --- usage --------------------------------------------------------------------------


async def _usage_query(request: AnyRequest) -> tuple[Accounting, UsageQuery, str | None]:
    """Filters from the query string. A team key may read its own team only."""
    principal = await caller(request)
    params = request.query_params
    team = params.get("team") or None
    if not principal.is_master:
        if team is not None and team != principal.team:
            raise PermissionDeniedError(
                "A team key can read its own team's usage only.", code="insufficient_permissions"
            )
        team = principal.team
    accounting = services(request).accounting
    query = UsageQuery(
        start=parse_time(params.get("start"), "start"),
        end=parse_time(params.get("end"), "end"),
        # The team now under that name: a deleted team's records stay out of it.
        team=await accounting.admin.team_id(team) if team is not None else None,
        key_id=params.get("key") or None,
        model=params.get("model") or None,
        request_id=params.get("request_id") or None,
    )
    return accounting, query, team


@get("/admin/usage")
async def usage(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        groups = reports.parse_groups(request.query_params.get("group_by"))
        accounting, query, team = await _usage_query(request)
        totals, rows = await reports.summarize(accounting.state.records(query), groups)
        return json_ok(
            {
                "object": "usage.report",
                "start": query.start,
                "end": query.end,
                "filters": {"team": team, "key": query.key_id, "model": query.model},
                "group_by": groups,
                "totals": totals,
                "groups": rows,
            }
        )

    return await answer(request, handle)


@get("/admin/usage/records")
async def usage_records(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting, query, _ = await _usage_query(request)
        limit = _limit(request.query_params.get("limit"))
        data = []
        async for record in accounting.state.records(query):
            data.append(reports.record_view(record))
            if len(data) >= limit:
                break
        return json_ok({"object": "list", "data": data})

    return await answer(request, handle)


@get("/admin/usage/export")
async def usage_export(request: AnyRequest) -> Response[bytes] | Stream:
    try:
        accounting, query, _ = await _usage_query(request)
    except StateError:
        error = GatewayError("The gateway's state store is unavailable.", code="state_unavailable")
        return error_response(error, request_id(request.headers))
    except GatewayError as exc:
        return error_response(exc, request_id(request.headers))
    return Stream(
        reports.csv_lines(accounting.state.records(query)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="usage.csv"'},
    )


def _limit(value: str | None) -> int:
    if value is None:
        return 1000
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MAX_RECORDS:
        raise InvalidRequestError(f"'limit' must be 1 to {_MAX_RECORDS}.", param="limit")
    return limit


def _default(accounting: Accounting) -> Any:
    return accounting.config.accounting.budget_period


async def _spend(
    accounting: Accounting, scope: str, usd: float | None, period: Any
) -> dict[str, Any]:
    periods: Periods = accounting.clock.periods()
    period_id = periods.id(period)
    spent, held = await accounting.state.spend(scope, [period_id])
    view: dict[str, Any] = {
        "period": period,
        "period_id": period_id,
        "spent_usd": spent[period_id] / 1e9,
        "held_usd": held / 1e9,
        "budget_usd": usd,
    }
    if usd is not None:
        view["remaining_usd"] = max(0.0, usd - (spent[period_id] + held) / 1e9)
    return view


ROUTES = [
    list_teams,
    create_team,
    get_team,
    update_team,
    delete_team,
    list_keys,
    create_key,
    get_key,
    update_key,
    revoke_key,
    delete_key,
    rotate_key,
    usage,
    usage_records,
    usage_export,
]
