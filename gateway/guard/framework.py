"""guardrails-ai, imported once at start-up with its telemetry off.

guardrails-ai sends anonymous usage metrics by default and no environment variable
turns that off; it also keeps a call history per Guard. Before anything else touches
it, this module:

- sets ``GUARD_HISTORY_ENABLED=false`` (read on every Guard call);
- replaces ``settings.rc`` with ``enable_metrics=False, use_remote_inferencing=False``
  (every ``Guard()`` re-reads ``~/.guardrailsrc``, so this is done again after the
  Guards are built, see ``seal``), and configures each Guard with
  ``allow_metrics_collection=False``;
- creates the Hub telemetry singleton disabled and shuts its exporter down, so no span
  processor thread runs and nothing can be sent to guardrails' collector.

The gateway then makes no outbound call but to its configured targets.

Import cost, measured on a busy 2-core machine: 3.3-3.5 s of CPU (langchain-core
tracers and guardrails' own modules; litellm is not imported). ``jsonschema`` would
add another ~2.5 s building the ``rfc3987_syntax`` grammar for its ``iri`` format
checker at import; the gateway checks no formats, so it is imported first without that
optional module (``schema_check.load_jsonschema``).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from types import ModuleType
from typing import Any

log = logging.getLogger("gateway.guard")
_loaded: ModuleType | None = None
HUB_PREFIX = "hub://"


def load_guardrails() -> ModuleType:
    """Import guardrails-ai (once per process) with telemetry off; returns the module."""
    global _loaded
    if _loaded is not None:
        return _loaded
    started = time.perf_counter()
    os.environ["GUARD_HISTORY_ENABLED"] = "false"
    from gateway.guard.schema_check import load_jsonschema

    load_jsonschema()
    import guardrails  # type: ignore[import-untyped]  # noqa: F401

    _quiet_telemetry()
    import gateway.guard.validators  # noqa: F401  (registers our validators)

    _loaded = module = sys.modules["guardrails"]
    log.info("guardrails-ai loaded in %.2f s (telemetry off)", time.perf_counter() - started)
    return module


def _quiet_telemetry() -> None:
    from guardrails import settings
    from guardrails.classes.rc import RC  # type: ignore[import-untyped]
    from guardrails.utils.hub_telemetry_utils import HubTelemetry  # type: ignore[import-untyped]

    settings.rc = RC(enable_metrics=False, use_remote_inferencing=False)
    hub = HubTelemetry(enabled=False)
    hub._enabled = False
    provider = hub._tracer_provider
    hub._tracer = None
    hub._prop = None
    if provider is not None:
        provider.shutdown()


def seal() -> None:
    """Re-apply the settings after Guards are built (each Guard re-reads the rc file)."""
    _quiet_telemetry()


def validator_class(name: str, module: str = "") -> Any:
    """A registered validator class: ours, a Hub validator (``hub://owner/name``,
    installed with ``guardrails hub install``) or any class registered by ``module``."""
    guardrails = load_guardrails()
    if module:
        importlib.import_module(module)
    from guardrails.validator_base import get_validator_class  # type: ignore[import-untyped]

    key = name[len(HUB_PREFIX) :] if name.startswith(HUB_PREFIX) else name
    found = guardrails.validator_base.validators_registry.get(key)
    if found is None:
        found = get_validator_class(name)
    if found is None:
        raise LookupError(
            f"guardrails validator {name!r} is not registered (install it with "
            f"`guardrails hub install {name}` or name the module that registers it)"
        )
    return found


def make_guard(validators: list[Any], name: str) -> Any:
    """A guardrails-ai ``Guard`` composing one policy stage's validators."""
    guardrails = load_guardrails()
    guard = guardrails.Guard(name=name)
    guard.configure(allow_metrics_collection=False)
    if validators:
        guard.use(*validators)
    return guard
