"""The configuration schema: frozen msgspec Structs, unknown fields forbidden.

Decoding the whole tree once at load time means a typo or a wrong type is reported with
its field path (``providers.openai.timeouts.connect``) before the gateway serves anything.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

# Kinds with a translator in providers.registry; the routing issue adds azure, anthropic, trtllm.
ProviderKind = Literal["openai", "openai-compatible"]
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

    path: str = "/models"
    interval_s: PositiveFloat = 10.0
    timeout_s: PositiveFloat = 2.0


class Engine(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A local engine process the gateway starts, health-checks and stops with itself."""

    kind: Literal["llama-cpp", "command"]
    # llama-cpp: a path to a GGUF file, or ``package:<module>`` to use the single GGUF
    # shipped inside an installed package (found without importing it).
    model: str = ""
    # command: the argv to run (``trtllm-serve ...`` on GPU hosts).
    command: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8181
    threads: PositiveInt = 2
    context_size: PositiveInt = 2048
    served_name: str = ""
    env: dict[str, str] = field(default_factory=dict)


class Provider(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    kind: ProviderKind
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


class Target(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    provider: str
    model: str
    weight: Annotated[float, Meta(ge=0)] = 1.0


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
    # The /v1 endpoints this model serves; others answer 400 before any upstream call.
    endpoints: list[EndpointName] = field(
        default_factory=lambda: ["chat/completions", "completions", "embeddings"]
    )


class TeamLimits(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None
    concurrency: PositiveInt | None = None


class Team(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    models: list[str] = field(default_factory=lambda: ["*"])
    limits: TeamLimits | None = None
    budget_usd: Annotated[float, Meta(ge=0)] | None = None


class KeyEntry(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    team: str
    key: Annotated[str, Meta(min_length=8)]
    name: str = ""


class Admin(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    master_key: str = ""


class State(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Empty url: the embedded single-process backend."""

    url: str = ""


class Server(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    workers: PositiveInt = 1
    max_body_bytes: PositiveInt = 4 * 1024 * 1024
    # Grace period for in-flight streams on shutdown.
    shutdown_grace_s: PositiveFloat = 30.0


class Config(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    server: Server = field(default_factory=Server)
    state: State = field(default_factory=State)
    admin: Admin = field(default_factory=Admin)
    providers: dict[str, Provider] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    keys: list[KeyEntry] = field(default_factory=list)
