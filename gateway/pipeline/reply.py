"""What the pipeline returns: a whole JSON body, or a stream of chunks.

Stages that act on answers (output guards, labels, cache store) transform a ``Completion``
in place or wrap a ``ChunkStream``'s iterator, so streams stay chunk-by-chunk end to end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, frozen=True)
class Comment:
    """An SSE comment line, e.g. a label binding sent just before ``data: [DONE]``."""

    text: str


StreamItem = dict[str, Any] | Comment


@dataclass(slots=True)
class Completion:
    body: dict[str, Any]


@dataclass(slots=True)
class ChunkStream:
    chunks: AsyncIterator[StreamItem]


Reply = Completion | ChunkStream
