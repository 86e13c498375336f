"""What the routes need from the running gateway: a small protocol, not the app factory.

``app.Gateway`` provides it (checked where the app is built); a test may hand routes
any other object with these members. Routes find it on the app's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from litestar import Request

    from gateway.accounting.service import Accounting
    from gateway.auth.keys import KeyStore
    from gateway.cache.service import ResponseCache
    from gateway.config.schema import Config
    from gateway.conversations.store import ResponseStore
    from gateway.experiments.stage import Switches
    from gateway.feedback.service import Feedback
    from gateway.labeling.service import Labels
    from gateway.pipeline.stages import Pipeline
    from gateway.routing.models import ModelTable
    from gateway.telemetry.service import Telemetry


class GatewayServices(Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def keys(self) -> KeyStore: ...

    @property
    def models(self) -> ModelTable: ...

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def accounting(self) -> Accounting: ...

    @property
    def feedback(self) -> Feedback: ...

    @property
    def switches(self) -> Switches: ...

    @property
    def labels(self) -> Labels: ...

    @property
    def telemetry(self) -> Telemetry: ...

    @property
    def cache(self) -> ResponseCache | None: ...

    @property
    def responses_store(self) -> ResponseStore | None: ...

    def model_card(self, name: str) -> dict[str, Any]: ...

    def listed_models(self) -> list[str]: ...

    def unready_models(self) -> list[str]: ...


def services(request: Request[Any, Any, Any]) -> GatewayServices:
    found: GatewayServices = request.app.state.gateway
    return found


def scope_services(scope: Mapping[str, Any]) -> GatewayServices:
    """The same, for the plain-ASGI /v1 handlers."""
    found: GatewayServices = scope["app"].state.gateway
    return found
