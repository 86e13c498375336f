"""One error type, one status mapping, rendered in OpenAI's error shape at the edge.

    GatewayError                         500 server_error
     ├── InvalidRequestError             400 invalid_request_error
     │    └── ContentFilterError         400 content_filter (never echoes matched text)
     ├── AuthenticationError             401 invalid_api_key
     ├── PermissionDeniedError           403 model_not_allowed
     ├── NotFoundError                   404 model_not_found / not_found
     ├── RequestTimeoutError             408 request_timeout (the body did not arrive in time)
     ├── ConflictError                   409 conflict (admin: name taken, config-managed)
     ├── RequestTooLargeError            413 request_too_large
     ├── RateLimitError                  429 rate_limit_exceeded (carries retry_after)
     │    └── QuotaExceededError         429 insufficient_quota (budget spent; not retried)
     └── UpstreamError                   502 upstream_error
          ├── UpstreamStatusError        the provider's own 4xx, passed through
          ├── UpstreamTimeoutError       504 upstream_timeout
          └── ServiceUnavailableError    503 service_unavailable

Messages are written for the client: no stack traces, no secrets, no upstream URLs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class GatewayError(Exception):
    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str | None] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers = headers or {}

    @property
    def status_code(self) -> int:
        return self.status

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_json(self) -> bytes:
        return msgspec.json.encode(self.body())


class InvalidRequestError(GatewayError):
    status = 400
    type = "invalid_request_error"
    default_code: ClassVar[str | None] = None


class ContentFilterError(InvalidRequestError):
    default_code = "content_filter"


class AuthenticationError(GatewayError):
    status = 401
    type = "invalid_request_error"
    default_code = "invalid_api_key"


class PermissionDeniedError(GatewayError):
    status = 403
    type = "invalid_request_error"
    default_code = "model_not_allowed"


class NotFoundError(GatewayError):
    status = 404
    type = "invalid_request_error"
    default_code = "model_not_found"


class RequestTimeoutError(GatewayError):
    status = 408
    type = "invalid_request_error"
    default_code = "request_timeout"


class ConflictError(GatewayError):
    status = 409
    type = "invalid_request_error"
    default_code = "conflict"


class RequestTooLargeError(GatewayError):
    status = 413
    type = "invalid_request_error"
    default_code = "request_too_large"


class RateLimitError(GatewayError):
    status = 429
    type = "requests"
    default_code = "rate_limit_exceeded"


class QuotaExceededError(RateLimitError):
    """A budget is spent. OpenAI's own shape for it; ``x-should-retry: false`` tells the
    OpenAI SDKs not to retry (waiting a few seconds does not refill a budget)."""

    type = "insufficient_quota"
    default_code = "insufficient_quota"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"
    default_code = "upstream_error"


class UpstreamStatusError(UpstreamError):
    """A provider's client error (4xx), passed through with its own status and message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code, headers=headers)
        self._status = status
        self._type = type

    @property
    def status_code(self) -> int:
        return self._status

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["type"] = self._type
        return body


class UpstreamTimeoutError(UpstreamError):
    status = 504
    type = "timeout"
    default_code = "upstream_timeout"


class ServiceUnavailableError(UpstreamError):
    status = 503
    type = "service_unavailable"
    default_code = "service_unavailable"
