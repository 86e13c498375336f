"""Load generators for the overhead benchmark: wrk for closed loop, a lean client for pacing.

Why two: ``wrk`` (one C thread) costs a few microseconds of CPU per request, so on a
2-core machine it never limits a Python server, and its HdrHistogram gives the latency
percentiles; but it cannot pace. The in-process client (uvloop + raw keep-alive
sockets + httptools' response parser, no HTTP library) paces an open loop at a few
hundred requests a second for far less CPU than it measures, and doubles as the
closed-loop client where ``wrk`` is not installed (it then tops out near 10k req/s on
one core, which limits direct runs, not gateway ones).

Every run ends by itself: closed loops stop starting requests at the deadline, every
request has a timeout, and paced runs send exactly ``rate * duration`` requests.
Latencies are timed with ``time.perf_counter``: uvloop's ``loop.time()`` is in whole
milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import subprocess
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

import httptools

REQUEST_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 512  # paced runs: more would only measure the file-descriptor limit


@dataclass(frozen=True)
class Target:
    """Where a POST goes: 127.0.0.1-style host, port, path, extra headers."""

    host: str
    port: int
    path: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def raw_post(self, body: bytes) -> bytes:
        head = f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        head += "Content-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@dataclass(frozen=True)
class RunResult:
    """One load run against one target."""

    requests: int  # answered, any status
    non_2xx: int  # of those, answered with another status
    errors: int  # not answered: connect/read/write errors, timeouts, dropped sends
    duration_s: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """2xx answers per second."""
        return (self.requests - self.non_2xx) / self.duration_s if self.duration_s else 0.0

    @property
    def failed(self) -> int:
        return self.non_2xx + self.errors


def median_result(results: Sequence[RunResult]) -> RunResult:
    """Field-wise median over rounds (each field is a robust estimate on its own)."""
    return RunResult(
        **{
            f.name: statistics.median(getattr(r, f.name) for r in results)
            for f in fields(RunResult)
        }
    )


# --- wrk -----------------------------------------------------------------------------

WRK_LUA = """\
wrk.method = "POST"
local f = io.open(%(body)s, "rb"); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "application/json"
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_JSON {\\"requests\\":%%d,\\"duration_us\\":%%d,"
    .. "\\"p50_us\\":%%.0f,\\"p99_us\\":%%.0f,\\"status\\":%%d,\\"socket\\":%%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(
    target: Target, body_path: Path, concurrency: int, duration_s: float, pin: Sequence[str] = ()
) -> RunResult:
    """One closed-loop wrk run (one thread, ``concurrency`` connections)."""
    script = body_path.with_suffix(".lua")
    headers = "\n".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in target.headers
    )
    script.write_text(WRK_LUA % {"body": json.dumps(str(body_path)), "headers": headers})
    cmd = [*pin, "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration_s))}s"]
    cmd += [f"--timeout={int(REQUEST_TIMEOUT_S)}s", "-s", str(script), target.url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60, check=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    s = json.loads(line.removeprefix("WRK_JSON "))
    return RunResult(
        requests=s["requests"],
        non_2xx=s["status"],
        errors=s["socket"],
        duration_s=s["duration_us"] / 1e6,
        p50_ms=s["p50_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
    )


# --- the in-process client -------------------------------------------------------------


class _Conn(asyncio.Protocol):
    """One keep-alive client connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(exc or ConnectionResetError("closed by peer"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def reusable(self) -> bool:
        return self.transport is not None and self.parser.should_keep_alive()

    async def request(self, raw: bytes) -> int:
        if self.transport is None:
            raise ConnectionResetError("closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            return await self.waiter


class _Tally:
    def __init__(self, target: Target, raw: bytes) -> None:
        self.target, self.raw = target, raw
        self.latencies: list[float] = []
        self.non_2xx = 0
        self.errors = 0

    async def connect(self) -> _Conn | None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Conn, self.target.host, self.target.port)
        except OSError:
            self.errors += 1
            await asyncio.sleep(0.05)  # no hot loop while the server is down
            return None
        return conn

    async def send(self, conn: _Conn) -> bool:
        """One timed request; False when the connection can't be used again."""
        start = time.perf_counter()
        try:
            status = await conn.request(self.raw)
        except (OSError, TimeoutError, httptools.HttpParserError):
            self.errors += 1
            conn.close()
            return False
        self.latencies.append(time.perf_counter() - start)
        self.non_2xx += not 200 <= status < 300
        return conn.reusable

    def result(self, duration_s: float) -> RunResult:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:  # nearest rank
            return lat[max(0, math.ceil(p / 100 * len(lat)) - 1)] * 1000 if lat else math.nan

        return RunResult(len(lat), self.non_2xx, self.errors, duration_s, pct(50), pct(99))


async def _closed(target: Target, raw: bytes, concurrency: int, duration_s: float) -> RunResult:
    tally = _Tally(target, raw)
    start = time.perf_counter()
    deadline = start + duration_s

    async def worker() -> None:
        conn: _Conn | None = None
        while time.perf_counter() < deadline:
            conn = conn or await tally.connect()
            if conn is not None and not await tally.send(conn):
                conn = None
        if conn is not None:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally.result(time.perf_counter() - start)


async def _paced(target: Target, raw: bytes, rate: float, duration_s: float) -> RunResult:
    """Open loop: request i starts at t0 + i/rate on an idle connection (a new one if none).

    Latency is timed from the actual send (the loop's timers have 1 ms granularity);
    at these rates nothing queues in the client, so sends stay on schedule.
    """
    tally, idle = _Tally(target, raw), list[_Conn]()

    async def one() -> None:
        conn = idle.pop() if idle else await tally.connect()
        if conn is not None and await tally.send(conn):
            idle.append(conn)

    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    for i in range(int(rate * duration_s)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= MAX_IN_FLIGHT:  # the server has stalled: drop, don't pile up sockets
            tally.errors += 1
            continue
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 1)
    for conn in idle:
        conn.close()
    return tally.result(time.perf_counter() - start)


def _run(coro: Coroutine[Any, Any, RunResult]) -> RunResult:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - ships with uvicorn[standard]
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_closed_python(
    target: Target, body: bytes, concurrency: int, duration_s: float
) -> RunResult:
    """Closed loop with the in-process client (when wrk is missing)."""
    return _run(_closed(target, target.raw_post(body), concurrency, duration_s))


def run_paced(target: Target, body: bytes, rate: float, duration_s: float) -> RunResult:
    """Open loop at ``rate`` requests a second for ``duration_s``."""
    return _run(_paced(target, target.raw_post(body), rate, duration_s))
