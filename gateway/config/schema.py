"""The configuration schema: frozen msgspec Structs, unknown fields forbidden.

Decoding the whole tree once at load time means a typo or a wrong type is reported with
its field path (``providers.openai.timeouts.connect``) before the gateway serves anything.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from gateway.accounting.config import Accounting, BudgetPeriod
from gateway.cache.config import CacheConfig, TeamCache
from gateway.confidence.config import Confidence
from gateway.engines.config import EngineMetrics
from gateway.experiments.config import Experiment
from gateway.feedback.config import TeamFeedback
from gateway.guard.config import Guardrails
from gateway.intent.config import IntentRouter
from gateway.labeling.config import Labeling, TeamLabeling
from gateway.limits.config import Limits, RateLimitSettings
from gateway.providers.capabilities import CapabilityPatch
from gateway.routing.config import RoutingPolicy
from gateway.telemetry.config import TeamTelemetry, Telemetry

# Kinds with a translator in providers.registry.
EndpointName = Literal["chat/completions", "completions", "embeddings"]
PositiveFloat = Annotated[float, Meta(gt=0)]
PositiveInt = Annotated[int, Meta(ge=1)]


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Timeouts(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Seconds. ``first_byte`` bounds the wait for response headers and every gap between
    stream chunks; ``total`` bounds the whole exchange, streams included."""

    connect: PositiveFloat = 5.0
    first_byte: PositiveFloat = 60.0
    total: PositiveFloat = 600.0


class Pool(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    max_connections: PositiveInt = 200
    max_keepalive: Annotated[int, Meta(ge=0)] = 50
    keepalive_expiry: PositiveFloat = 30.0


class HealthCheck(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Active reachability probe; the path is relative to the provider's ``base_url``."""

    # Empty: the provider kind's own health route (OpenAI-wire: /models under base_url;
    # trtllm: GET /health at the server root; azure: /openai/models; anthropic:
    # /v1/models). A path given here is relative to base_url.
    path: str = ""
    interval_s: PositiveFloat = 10.0
    timeout_s: PositiveFloat = 2.0


class Engine(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A local engine process the gateway starts, health-checks and stops with itself."""

    # llama-cpp: llama.cpp's server from the prebuilt xllamacpp wheel (the [local] extra);
    # llama-cpp-python: the same server from llama-cpp-python[server] (compiled);
    # command: any argv, e.g. trtllm-serve on GPU hosts.
    kind: Literal["llama-cpp", "llama-cpp-python", "command"]
    # llama-cpp*: a path to a GGUF file, or ``package:<module>`` to use the single GGUF
    # shipped inside an installed package (found without importing it).
    model: str = ""
    # command: the argv to run (``trtllm-serve ...`` on GPU hosts).
    command: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8181
    threads: PositiveInt = 2
    # Tokens of context per request slot, and how many requests decode at once
    # (llama-cpp; llama-cpp-python serves one at a time).
    context_size: PositiveInt = 2048
    parallel: PositiveInt = 1
    served_name: str = ""
    env: dict[str, str] = field(default_factory=dict)


class Provider(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # A kind registered in providers.registry (openai, openai-compatible, azure,
    # anthropic, trtllm); checked by the loader against the registry.
    kind: str
    base_url: str
    api_key: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    timeouts: Timeouts = field(default_factory=Timeouts)
    pool: Pool = field(default_factory=Pool)
    # None disables probing: the provider counts as reachable until a call fails.
    health: HealthCheck | None = field(default_factory=HealthCheck)
    engine: Engine | None = None
    # Drop this provider (and models left without targets) when its api_key is empty,
    # so one policy file can expose cloud models only where their keys are set.
    optional: bool = False
    # Ask the upstream for the stream usage chunk (stream_options.include_usage).
    stream_usage: bool = True
    # Azure: API version; Anthropic: anthropic-version header.
    api_version: str = ""
    # Anthropic: max_tokens to send when the client set none (the Messages API needs it);
    # unset: the model's max_output_tokens from the capability table, so a long answer is
    # not cut where the same request to OpenAI would not be.
    max_tokens: PositiveInt | None = None
    # trtllm: how the engine's load is read for engine-aware routing.
    metrics: EngineMetrics = field(default_factory=EngineMetrics)
    # Anthropic (by upstream model) and Azure (by api-version): fnmatch pattern → what
    # it accepts, over policies/capabilities.yaml (gateway.providers.capabilities).
    capabilities: dict[str, CapabilityPatch] = field(default_factory=dict)


class Target(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    provider: str
    model: str
    weight: Annotated[float, Meta(ge=0)] = 1.0
    # The provider account's own quota for this deployment; routing skips a target
    # over it while another target can answer (gateway.limits).
    limits: Limits | None = None
    # USD per million tokens on this target, for the cost strategy (else the model's).
    price: Price | None = None


class Price(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """USD per million tokens."""

    input: Annotated[float, Meta(ge=0)] = 0.0
    output: Annotated[float, Meta(ge=0)] = 0.0
    cached_input: Annotated[float, Meta(ge=0)] | None = None


class Model(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    targets: Annotated[list[Target], Meta(min_length=1)]
    fallbacks: list[str] = field(default_factory=list)
    price: Price | None = None
    owned_by: str = ""
    # Count this model in /health/ready; an optional model never holds readiness back.
    required_for_ready: bool = True
    # Strategy, retries, circuit breaker and engine scoring (routing.config).
    routing: RoutingPolicy = field(default_factory=RoutingPolicy)
    # Limits on this model over every team together (gateway.limits).
    limits: Limits | None = None
    # The /v1 endpoints this model serves; others answer 400 before any upstream call.
    endpoints: list[EndpointName] = field(
        default_factory=lambda: ["chat/completions", "completions", "embeddings"]
    )


# rpm / tpm / concurrency, the same shape at every level (gateway.limits.config).
TeamLimits = Limits


class Team(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    models: list[str] = field(default_factory=lambda: ["*"])
    limits: TeamLimits | None = None
    # This team's limits on one model (model name → limits), besides its own.
    model_limits: dict[str, Limits] = field(default_factory=dict)
    budget_usd: Annotated[float, Meta(ge=0)] | None = None
    # The budget's period (UTC calendar); default: accounting.budget_period.
    budget_period: BudgetPeriod | None = None
    # AI-content labels (visible notice) and telemetry (content capture) for this team.
    labeling: TeamLabeling | None = None
    telemetry: TeamTelemetry | None = None
    # Response cache overrides for this team (gateway.cache); unset fields inherit.
    cache: TeamCache | None = None
    # Name of this team's guardrail policy (policies/guardrails/<name>.yaml or inline);
    # unset: guardrails.default_policy; "off": none (gateway.guard).
    guardrails: str | None = None
    # Name of this team's confidence-gate policy (``confidence.policies``); unset:
    # confidence.default_policy; "off": none (gateway.confidence).
    confidence: str | None = None
    # Feedback: whether prompt and answer text are retained (gateway.feedback).
    feedback: TeamFeedback | None = None


class KeyEntry(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    team: str
    key: Annotated[str, Meta(min_length=8)]
    name: str = ""
    limits: Limits | None = None


class Admin(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    master_key: str = ""


class State(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Empty url: the embedded single-process backend (a SQLite file at ``path``, by
    default ``$GATEWAY_DATA_DIR/state.db`` or ``./.gateway/state.db``)."""

    url: str = ""
    path: str = ""


class Server(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    workers: PositiveInt = 1
    max_body_bytes: PositiveInt = 4 * 1024 * 1024
    # Shape limits on a client's JSON (400 above them): how deeply it nests, and chat
    # messages per request. Tools (128), ``n`` (128) and ``stop`` (4) follow OpenAI's own.
    max_json_depth: PositiveInt = 64
    max_messages: PositiveInt = 4096
    # Seconds a client has to send its whole body once the request head is in (408
    # after); the head itself must arrive within uvicorn's keep-alive timeout (5 s).
    body_timeout_s: PositiveFloat = 30.0
    # Grace period for in-flight streams on shutdown.
    shutdown_grace_s: PositiveFloat = 30.0
    # Where ``gateway serve`` loads the embedders (semantic cache, intent routers): ``on``
    # (YAML's true), once per host in a model host process the workers reach over a Unix
    # socket; ``off`` (false), in every worker; ``auto``: on with two or more workers.
    model_host: bool | Literal["auto"] = "auto"


class Config(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    server: Server = field(default_factory=Server)
    state: State = field(default_factory=State)
    admin: Admin = field(default_factory=Admin)
    providers: dict[str, Provider] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    keys: list[KeyEntry] = field(default_factory=list)
    # Rate limiting: reservation defaults, shared-store failure mode (gateway.limits).
    limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    # Prices, budget periods, token counting (gateway.accounting).
    accounting: Accounting = field(default_factory=Accounting)
    # AI-content labels: GB 45438 fields, signature, visible notice (gateway.labeling).
    labeling: Labeling = field(default_factory=Labeling)
    # Tracing, metrics, access logs (gateway.telemetry).
    telemetry: Telemetry = field(default_factory=Telemetry)
    # Guardrail policies: where they live, the default, inline ones (gateway.guard).
    guardrails: Guardrails = field(default_factory=Guardrails)
    # Exact and semantic response cache (gateway.cache); off unless enabled.
    cache: CacheConfig = field(default_factory=CacheConfig)
    # Intent routers: model names classified into intents by a small local model
    # (gateway.intent); A/B experiments: model names split between variants
    # (gateway.experiments); output-confidence gate policies (gateway.confidence).
    intents: dict[str, IntentRouter] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    confidence: Confidence = field(default_factory=Confidence)
