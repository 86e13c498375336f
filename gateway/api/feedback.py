"""Feedback and experiment routes.

- ``POST /feedback`` (also ``/v1/feedback``), team key: rate one of the team's own
  requests (``good`` / ``bad``) with an optional correction. A request id of another
  team is answered exactly like an unknown one (404): nothing tells a team what
  another team's requests are.
- ``GET /admin/feedback/export?team=T&rating=bad``, master key: JSONL fine-tuning
  examples (``feedback.export``); ``x-gateway-export-*`` headers count what was left
  out and why.
- ``GET /admin/experiments``, ``GET /admin/experiments/{name}`` (per-variant counts and
  95% intervals, ``?start=&end=``), ``POST /admin/experiments/{name}/start|stop``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from gateway.api.master import answer, caller, json_ok, read_body, require_master
from gateway.api.services import services
from gateway.auth.manage import parse_time
from gateway.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from gateway.experiments import report
from gateway.feedback import export
from gateway.feedback.records import FeedbackRecord
from gateway.state.records import UsageQuery, UsageRecord

if TYPE_CHECKING:
    from gateway.feedback.service import Feedback

AnyRequest = Request[Any, Any, Any]
_MAX_TEXT = 32_768


class FeedbackBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    rating: Literal["good", "bad"]
    correction: Annotated[str, msgspec.Meta(max_length=_MAX_TEXT)] | None = None
    comment: Annotated[str, msgspec.Meta(max_length=_MAX_TEXT)] | None = None


def _service(request: AnyRequest) -> Feedback:
    return services(request).feedback


def _decode_feedback(data: dict[str, Any]) -> FeedbackBody:
    try:
        return msgspec.convert(data, FeedbackBody)
    except msgspec.ValidationError as exc:
        message = str(exc)
        param = message.rsplit("`$.", 1)[-1].rstrip("`") if "`$." in message else None
        if param is None and "missing required field" in message:
            param = message.rsplit("`", 2)[-2]
        raise InvalidRequestError(f"Invalid feedback: {message}", param=param) from None


async def _record_of(request: AnyRequest, team: str, rid: str) -> UsageRecord | None:
    """The team's latest ledger record with that request id (a client may reuse ids)."""
    found = None
    async for record in services(request).accounting.state.records(
        UsageQuery(team=team, request_id=rid)
    ):
        found = record
    return found


@post(["/feedback", "/v1/feedback"], status_code=200)
async def post_feedback(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        principal = await caller(request)
        if principal.is_master:
            raise PermissionDeniedError(
                "Feedback is given with the key of the team that made the request.",
                code="insufficient_permissions",
            )
        body = _decode_feedback(await read_body(request))
        record = await _record_of(request, principal.team_id, body.request_id)
        if record is None:
            raise NotFoundError(
                f"No request `{body.request_id}` of your team was found.",
                param="request_id",
                code="request_not_found",
            )
        note = record.pipeline
        feedback = FeedbackRecord(
            team=principal.team_id,
            request_id=body.request_id,
            key_id=principal.key_id,
            rating=body.rating,
            time=time.time(),
            correction=body.correction,
            comment=body.comment,
            experiment=note.experiment if note else "",
            variant=note.variant if note else "",
        )
        service = _service(request)
        await service.store.put_feedback(feedback)
        if service.metrics is not None and feedback.experiment:
            service.metrics.feedback(feedback.experiment, feedback.variant, feedback.rating)
        return json_ok(
            {
                "object": "feedback",
                "request_id": body.request_id,
                "rating": body.rating,
                "correction": body.correction is not None,
            }
        )

    return await answer(request, handle)


@get("/admin/feedback/export")
async def export_feedback(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        params = request.query_params
        team = params.get("team") or ""
        if not team:
            raise InvalidRequestError("'team' is required.", param="team")
        settings = await accounting.admin.team_settings(team)
        if settings is None:
            raise NotFoundError(f"No team `{team}`.", param="team", code="team_not_found")
        rating = params.get("rating") or "bad"
        if rating not in ("good", "bad", "all"):
            raise InvalidRequestError("'rating' must be good, bad or all.", param="rating")
        service = _service(request)
        stored = await accounting.admin.team_id(team)  # what its feedback is stored under
        rated = await service.store.feedback(stored, None if rating == "all" else rating)
        pairs = [(f, await service.store.transcript(stored, f.request_id)) for f in rated]
        result = await anyio.to_thread.run_sync(export.build, pairs, service.redaction(team))
        retained = settings.feedback is not None and settings.feedback.retain_content
        note = (
            "Prompt and answer text are retained only for teams whose policy sets "
            f"feedback.retain_content (off by default); team {team} has it "
            f"{'on' if retained else 'off'}. {result.missing} rated request(s) had no "
            "retained text and are not in this file. PII is redacted by the team's "
            "guardrail policy."
        )
        return Response(
            b"".join(result.lines),
            media_type="application/jsonl",
            headers={
                "x-gateway-export-examples": str(len(result.lines)),
                "x-gateway-export-missing-content": str(result.missing),
                "x-gateway-export-note": note,
                "content-disposition": f'attachment; filename="feedback-{team}-{rating}.jsonl"',
            },
        )

    return await answer(request, handle)


@get("/admin/experiments")
async def list_experiments(request: AnyRequest) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        await require_master(request)
        service = _service(request)
        data = [
            {
                "name": name,
                "model": e.model,
                "active": services(request).switches.active(name),
                "variants": [msgspec.to_builtins(v) for v in e.variants],
            }
            for name, e in service.config.experiments.items()
        ]
        return json_ok({"object": "list", "data": data})

    return await answer(request, handle)


def _experiment(request: AnyRequest, name: str) -> Any:
    experiment = _service(request).config.experiments.get(name)
    if experiment is None:
        raise NotFoundError(f"No experiment `{name}`.", code="experiment_not_found")
    return experiment


@get("/admin/experiments/{name:str}")
async def get_experiment(request: AnyRequest, name: FromPath[str]) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        accounting = await require_master(request)
        experiment = _experiment(request, name)
        params = request.query_params
        query = UsageQuery(
            start=parse_time(params.get("start"), "start"),
            end=parse_time(params.get("end"), "end"),
        )
        service = _service(request)
        view = await report.summarize(
            name,
            experiment,
            services(request).switches.active(name),
            accounting.state.records(query),
            await service.store.experiment_feedback(name),
        )
        return json_ok(view)

    return await answer(request, handle)


async def _switch(request: AnyRequest, name: str, active: bool) -> Response[bytes]:
    async def handle() -> Response[bytes]:
        await require_master(request)
        _experiment(request, name)
        await services(request).switches.set(name, active)
        return json_ok({"object": "experiment", "name": name, "active": active})

    return await answer(request, handle)


@post("/admin/experiments/{name:str}/start", status_code=200)
async def start_experiment(request: AnyRequest, name: FromPath[str]) -> Response[bytes]:
    return await _switch(request, name, True)


@post("/admin/experiments/{name:str}/stop", status_code=200)
async def stop_experiment(request: AnyRequest, name: FromPath[str]) -> Response[bytes]:
    return await _switch(request, name, False)


ROUTES = [
    post_feedback,
    export_feedback,
    list_experiments,
    get_experiment,
    start_experiment,
    stop_experiment,
]
