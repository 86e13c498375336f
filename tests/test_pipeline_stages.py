"""The stage seam: hooks unwind in reverse like nested context managers, and a new
feature is one stage with its own slot (this file's ``Timing`` is the whole example:
one class, and one line in the stage list of ``app.build_gateway``)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from gateway.errors import GatewayError, RateLimitError
from gateway.pipeline.context import RequestContext, Slot
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem
from gateway.pipeline.stages import Pipeline, Stage
from gateway.wire.types import Endpoint

# --- the example: a complete feature in one stage -------------------------------------------


@dataclass(slots=True)
class TimingState:
    entered_at: float
    left: bool = False


TIMING: Slot[TimingState] = Slot("timing")


class Timing(Stage):
    """Stamps how long the inner stages and the upstream took, in a response header."""

    async def enter(self, ctx: RequestContext) -> Reply | None:
        TIMING.set(ctx, TimingState(time.perf_counter()))
        return None

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        state = TIMING.get(ctx)
        if state is not None:
            state.left = True
            elapsed = time.perf_counter() - state.entered_at
            ctx.response_headers["x-example-inner-ms"] = f"{elapsed * 1000:.3f}"
        return reply


async def test_a_new_stage_is_one_class_and_one_line() -> None:
    stages: list[Stage] = [Timing()]  # the one registration line
    ctx = RequestContext(Endpoint.CHAT, "req-example")
    reply = await Pipeline(stages, _answer).run(ctx)
    assert isinstance(reply, Completion)
    state = TIMING.get(ctx)
    assert state is not None and state.left
    assert float(ctx.response_headers["x-example-inner-ms"]) >= 0


def test_slots_are_per_request_and_typed() -> None:
    first, second = RequestContext(Endpoint.CHAT, "a"), RequestContext(Endpoint.CHAT, "b")
    TIMING.set(first, TimingState(1.0))
    assert TIMING.get(second) is None
    TIMING.restore(first, None)
    assert TIMING.get(first) is None
    assert repr(TIMING) == "Slot('timing')"


# --- the order of the hooks ------------------------------------------------------------------


class Recorder(Stage):
    def __init__(self, name: str, log: list[str], *, answer: bool = False) -> None:
        self._name = name
        self._log = log
        self._answer = answer

    async def enter(self, ctx: RequestContext) -> Reply | None:
        self._log.append(f"enter {self._name}")
        return Completion({"from": self._name}) if self._answer else None

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        self._log.append(f"leave {self._name}")
        return reply

    async def finish(self, ctx: RequestContext) -> None:
        self._log.append(f"finish {self._name}")


async def _answer(ctx: RequestContext) -> Reply:
    return Completion({"choices": []})


async def _refuse(ctx: RequestContext) -> Reply:
    raise RateLimitError("slow down")


async def _stream(ctx: RequestContext) -> Reply:
    async def chunks() -> AsyncIterator[StreamItem]:
        yield {"n": 1}
        yield {"n": 2}

    return ChunkStream(chunks())


@pytest.mark.parametrize("call", [_answer, _stream], ids=["completion", "stream"])
async def test_leave_and_finish_unwind_in_reverse(call: object) -> None:
    log: list[str] = []
    pipeline = Pipeline([Recorder("outer", log), Recorder("inner", log)], call)  # type: ignore[arg-type]
    reply = await pipeline.run(RequestContext(Endpoint.CHAT, "req"))
    if isinstance(reply, ChunkStream):
        assert [item async for item in reply.chunks] == [{"n": 1}, {"n": 2}]
    assert log == [
        "enter outer",
        "enter inner",
        "leave inner",
        "leave outer",
        "finish inner",
        "finish outer",
    ]


async def test_an_early_answer_still_finishes_every_stage_in_reverse() -> None:
    log: list[str] = []
    stages = [Recorder("outer", log), Recorder("hit", log, answer=True), Recorder("inner", log)]
    await Pipeline(stages, _answer).run(RequestContext(Endpoint.CHAT, "req"))
    assert log == [
        "enter outer",
        "enter hit",
        "leave inner",
        "leave hit",
        "leave outer",
        "finish inner",
        "finish hit",
        "finish outer",
    ]


async def test_a_failure_finishes_in_reverse_and_is_noted() -> None:
    log: list[str] = []
    ctx = RequestContext(Endpoint.CHAT, "req")
    with pytest.raises(GatewayError):
        await Pipeline([Recorder("outer", log), Recorder("inner", log)], _refuse).run(ctx)
    assert log == ["enter outer", "enter inner", "finish inner", "finish outer"]
    assert ctx.status == 429 and isinstance(ctx.error, RateLimitError)
