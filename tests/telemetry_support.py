"""A gateway app served in this process (uvicorn in a thread), so a test can attach an
in-memory span exporter to its tracer provider and read the spans it produced."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Self

import uvicorn
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import Gateway, create_app
from gateway.config import parse_config
from tests.conftest import free_port


class InProcessGateway:
    def __init__(self, config_text: str, env: Mapping[str, str]) -> None:
        self.app = create_app(parse_config(config_text, env=env))
        self.gateway: Gateway = self.app.state.gateway
        self.spans = InMemorySpanExporter()
        tracing = self.gateway.telemetry.tracing
        assert tracing is not None, "the config must enable tracing"
        tracing.provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.port = free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("in-process gateway did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(20)

    def take_spans(self, count: int, timeout: float = 5.0) -> list[ReadableSpan]:
        """Wait for ``count`` finished spans (a stream's end after the response)."""
        deadline = time.monotonic() + timeout
        while len(self.spans.get_finished_spans()) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        spans = list(self.spans.get_finished_spans())
        self.spans.clear()
        return spans


def tree(spans: list[ReadableSpan]) -> list[tuple[str, str, list[str]]]:
    """(kind, name, [child kind+name...]) for each root, children in start order."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    ids = {span.context.span_id for span in spans}
    for span in spans:
        parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
        by_parent.setdefault(parent, []).append(span)
    roots = by_parent.get(None, [])
    return [
        (
            root.kind.name,
            root.name,
            [
                f"{child.kind.name} {child.name}"
                for child in sorted(by_parent.get(root.context.span_id, []), key=_start)
            ],
        )
        for root in roots
    ]


def _start(span: ReadableSpan) -> int:
    return span.start_time or 0


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})
