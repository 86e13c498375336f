"""``api.asgi.send_stream`` on the ASGI contract: parts ready together leave in one
write, a failed body never ends cleanly, a client that leaves closes the body once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.api.asgi import send_stream


class Client:
    """The server side of one response: what was sent, and a disconnect to trigger."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def bodies(self) -> list[tuple[bytes, bool]]:
        return [(m["body"], m["more_body"]) for m in self.sent if m["type"] == "http.response.body"]


def test_a_burst_leaves_in_one_write_and_ends_cleanly() -> None:
    async def burst() -> AsyncIterator[bytes]:
        for i in range(5):
            yield b"part%d;" % i
        await asyncio.sleep(0.01)  # the next upstream read
        yield b"last;"

    async def main() -> Client:
        client = Client()
        await send_stream(client.send, client.receive, {}, burst())
        return client

    client = asyncio.run(main())
    assert client.bodies() == [
        (b"part0;part1;part2;part3;part4;", True),
        (b"last;", True),
        (b"", False),
    ]


def test_a_failed_body_is_cut_not_ended() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"first;"
        await asyncio.sleep(0)
        raise RuntimeError("upstream bug")

    async def main() -> Client:
        client = Client()
        with pytest.raises(RuntimeError):
            await send_stream(client.send, client.receive, {}, failing())
        return client

    client = asyncio.run(main())
    assert (b"", False) not in client.bodies()


def test_a_client_that_leaves_closes_the_body_and_lets_it_finish() -> None:
    finished: list[str] = []

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick;"
                await asyncio.sleep(0.005)
        finally:
            await asyncio.sleep(0.02)  # the pipeline's (shielded) finishing awaits too
            finished.append("settled")

    async def main() -> Client:
        client = Client()
        task = asyncio.create_task(send_stream(client.send, client.receive, {}, endless()))
        await asyncio.sleep(0.05)
        client.gone.set()
        await asyncio.wait_for(task, 5)
        return client

    client = asyncio.run(main())
    assert finished == ["settled"]
    assert client.bodies() and (b"", False) not in client.bodies()


def test_a_slow_client_holds_the_body_back() -> None:
    pulled = 0

    async def big() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b"x" * 10_000

    release = asyncio.Event()

    class Slow(Client):
        async def send(self, message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                await release.wait()  # the socket is full until the client reads
            self.sent.append(message)

    async def main() -> int:
        client = Slow()
        task = asyncio.create_task(send_stream(client.send, client.receive, {}, big()))
        await asyncio.sleep(0.05)
        held = pulled
        release.set()
        await asyncio.wait_for(task, 5)
        assert sum(len(body) for body, _ in client.bodies()) == 1_000_000
        return held

    # One batch in the (full) socket, another 64 KiB waiting: 2 x 7 parts of 10 KB.
    assert 6 <= asyncio.run(main()) <= 15
