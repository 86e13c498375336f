"""Public, unauthenticated label routes: the keys, a descriptor, and a verifier.

They reveal nothing secret (public keys only) and do no upstream work; the verifier's
input is bounded by the server's body-size limit like every other request.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post

from gateway.api.services import services
from gateway.labeling.saved import parse_saved
from gateway.labeling.service import DESCRIPTOR_PATH, JWKS_PATH, VERIFY_PATH, Labels

AnyRequest = Request[Any, Any, Any]
_JSON = "application/json"


def _labels(request: AnyRequest) -> Labels:
    return services(request).labels


@get(JWKS_PATH)
async def jwks(request: AnyRequest) -> Response[bytes]:
    return Response(
        msgspec.json.encode(_labels(request).jwks),
        media_type="application/jwk-set+json",
        headers={"cache-control": "public, max-age=300"},
    )


@get(DESCRIPTOR_PATH)
async def descriptor(request: AnyRequest) -> Response[bytes]:
    return Response(msgspec.json.encode(_labels(request).descriptor), media_type=_JSON)


@post(VERIFY_PATH, status_code=200)
async def verify(request: AnyRequest) -> Response[bytes]:
    """Body: a saved response (``curl -i`` output, an SSE capture, or the JSON envelope
    ``{"headers": {...}, "body": ...}``). Answers the verdict, whatever it is, with 200."""
    headers, body = parse_saved(await request.body())
    verdict = _labels(request).verifier.verify(headers, body)
    return Response(msgspec.json.encode(verdict), media_type=_JSON)


ROUTES = [jwks, descriptor, verify]
